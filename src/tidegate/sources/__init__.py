"""Sources: the git repository cache, ref resolution, tree reads, repository credentials, and
the cache of Helm charts and OCI artifacts (:mod:`tidegate.sources.charts`).

Fetching uses the git CLI (credentials through the environment, never argv); resolving refs and
reading trees at a commit use pygit2 on the cached bare repositories. See docs/sources.md.
"""

from tidegate.sources.cache import RepoCache
from tidegate.sources.charts import ChartCache
from tidegate.sources.credentials import RepoCredentials, credentials_for
from tidegate.sources.remote import RemoteRepos
from tidegate.sources.signatures import Keyring, Verifier

__all__ = [
    "ChartCache",
    "Keyring",
    "RemoteRepos",
    "RepoCache",
    "RepoCredentials",
    "Verifier",
    "credentials_for",
]
