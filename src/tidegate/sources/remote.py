"""Remote repositories named inside a source (kustomize remote bases, Helm value-file URLs),
for one app: the :class:`tidegate.render.RemoteRepos` the renderer asks.

Why Tidegate fetches them itself instead of letting kustomize run git: kustomize would need the
credentials (in its environment, for every host it contacts, readable by any git helper or
``ext::`` transport a crafted URL can reach), would fetch without fsck, would follow submodules,
and would read nested references no one has checked. Fetched here, a remote repository goes
through the same cache as the app's own: credentials stay in :mod:`tidegate.sources.gitcmd`
(environment and owner-only files, never argv), objects are fsck-checked, tree entries are
checked before anything is written, and checkouts are read-only and keyed by commit. The
renderer then walks the fetched tree with the same rules and hands kustomize local paths only.

A URL is refused unless it is http(s) or ssh (scp-like ``git@host:org/repo`` included), the
project's ``sourceRepos`` permit it (``!`` patterns deny), and its path does not point into one
of Tidegate's own directories (the repository cache, render scratch space, state), on any host.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

from tidegate.sources import cache as cache_mod
from tidegate.sources import credentials as creds_mod
from tidegate.sources import urls

_SCHEMES = ("http", "https", "ssh")


class RemoteRepos:
    """Checks and fetches the remote repositories one app's render references."""

    def __init__(
        self,
        cache: cache_mod.RepoCache,
        *,
        credentials: Callable[[str], creds_mod.RepoCredentials | None],
        protected: Sequence[str | Path] = (),
        max_age: float | None = None,
    ) -> None:
        self._cache = cache
        self._credentials = credentials
        # Path prefixes (plain string prefixes: ``.../tidegate-`` covers every render scratch
        # directory): the repository cache with its state, the renderers' temp dirs, and the
        # caller's own (the controller's cache directory).
        scratch = str(Path(tempfile.gettempdir()) / "tidegate-")
        own = [str(cache.root.absolute()), scratch, *(str(Path(p).absolute()) for p in protected)]
        self._protected = tuple(p.lower() for p in own)
        self._max_age = max_age

    def refusal(self, url: str, permitted: tuple[str, ...]) -> str | None:
        shown = urls.display(url)
        parts = urllib.parse.urlsplit(urls.normalise(url))
        helper = "::" in url.split("/", 1)[0]  # git's <transport>::<address> (ext::, fd::)
        # oci:// only names Helm chart dependencies (checked here, pulled by helm, never git).
        if helper or parts.scheme not in (*_SCHEMES, "oci") or not parts.hostname:
            return f"only http, https and ssh remote repositories are allowed, not {shown}"
        path = urllib.parse.unquote(parts.path)
        if any(path.startswith(own) for own in self._protected):  # both lower case
            return "the URL points into Tidegate's own directories"
        if not urls.permitted(permitted, url):
            listed = ", ".join(permitted) if permitted else "none"
            return f"repository {shown} is not permitted by the project's sourceRepos ({listed})"
        return None

    async def resolve(self, url: str, ref: str) -> str:
        creds = self._credentials(url)
        return await self._cache.resolve(url, ref or "HEAD", creds=creds, max_age=self._max_age)

    async def checkout(self, url: str, commit: str) -> Path:
        return await self._cache.checkout(url, commit, creds=self._credentials(url))
