"""Prometheus metrics: the process registry and the exposition (no I/O of its own).

- :mod:`.registry`: the process-wide registry and ``counter`` / ``gauge`` / ``histogram``
  get-or-create helpers, the API that features use to add their own ``tidegate_`` metrics;
- :mod:`.families`: the event-driven metrics with Argo CD's names, types, labels and buckets
  (``argocd_app_sync_total``, ``argocd_app_reconcile``, ``argocd_git_request_total`` ...) and
  Tidegate's own counters;
- :mod:`.exposition`: renders a set of collectors in the text format, and the ASGI app that
  serves ``/metrics``.

Gauges that describe state (``argocd_app_info``, cluster gauges, cache sizes) are not updated
per event: the controller gives a collector that reads its in-memory state at scrape time.
"""
