"""The web UI served by ``tidegate server`` (see docs/web.md).

Modules: :mod:`~tidegate.web.pages` (the routes, sessions, rendering), :mod:`~tidegate.web.views`
(pure: what a page shows, shaped from the API's JSON); ``templates/`` (Jinja2, autoescaped, one
partial per component) and ``static/`` (one stylesheet, one script).
"""
