"""auth: local accounts, session tokens and the one authorisation gate. Does no I/O.

- :mod:`tidegate.auth.passwords`: the initial admin password, bcrypt hashes, timing-safe checks.
- :mod:`tidegate.auth.tokens`: Argo CD-compatible session JWTs (HS256, ``iss: argocd``).
- :mod:`tidegate.auth.access`: ``authorize(subject, resource, action, object)``, the gate every
  API handler and stream passes (today: any authenticated subject; RBAC fills it later).

The API server reads ``argocd-secret`` and hands the key, hashes and times to these functions.
"""
