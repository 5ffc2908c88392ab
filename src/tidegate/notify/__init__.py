"""Notifications, argocd-notifications compatible (docs/observability.md).

Pure: :mod:`.catalog` (default triggers and templates), :mod:`.config` (the ConfigMap and
Secret, checked on load), :mod:`.exprenv` (what ``when`` expressions see), :mod:`.subscriptions`,
:mod:`.state` (the notified-state annotation), :mod:`.evaluate`, :mod:`.render`.
I/O: :mod:`.services` (webhook, Slack, email, GitHub, Teams, with bounded retries) and
:mod:`.controller` (reads the config, evaluates changed apps, delivers without blocking).
"""
