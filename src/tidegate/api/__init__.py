"""api: ``tidegate server``, Argo CD's REST API over the management cluster (FastAPI). An edge.

Routers are thin: each parses the request, passes :func:`tidegate.api.security.authorize`
(which calls :func:`tidegate.auth.access.authorize`), calls the same functions the CLI calls
and answers in Argo CD's JSON. One module per Argo CD service: ``session``, ``account``,
``applications`` (+ ``app_operations``, ``app_details``), ``streams``, ``projects`` (and
ApplicationSets), ``credentials`` (clusters, repositories), ``settings``. ``hub`` is the one
shared watch of Applications that feeds lists and streams; ``security`` holds the doors
(authentication, the gate, the CSRF guard, bounded bodies); ``bootstrap`` the Secrets written
on first start. See docs/server.md.
"""
