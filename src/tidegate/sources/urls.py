"""Repository URLs: normalising for comparison, redacting for messages, naming cache dirs.

Pure functions, no I/O. Git accepts ``scheme://[user[:password]@]host[:port]/path`` and the
scp-like ``user@host:path``; both shapes are handled.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections.abc import Iterable

from tidegate.model import globs

_SCP_LIKE = re.compile(
    r"^(?:(?P<user>[^@/\s]+)@)?(?P<host>\[[^\]/\s]+\]|[^:/\s]+):(?P<path>(?!//).*)$"
)
_DEFAULT_PORTS = {"ssh": 22, "git+ssh": 22, "ssh+git": 22, "https": 443, "http": 80, "git": 9418}
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")


def _to_url_form(url: str) -> str:
    """``git@host:org/repo`` -> ``ssh://git@host/org/repo``; URLs with a scheme unchanged."""
    url = url.strip()
    if "://" in url:
        return url
    match = _SCP_LIKE.match(url)
    if match is None:
        return url  # a local path or something git will reject with its own message
    user = f"{match['user']}@" if match["user"] else ""
    return f"ssh://{user}{match['host']}/{match['path'].lstrip('/')}"


def is_ssh(url: str) -> bool:
    """True for ``ssh://`` URLs and the scp-like ``user@host:path`` form."""
    return urllib.parse.urlsplit(_to_url_form(url)).scheme in ("ssh", "git+ssh", "ssh+git")


def is_https(url: str) -> bool:
    return urllib.parse.urlsplit(url.strip()).scheme == "https"


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``https://u:p@host/r`` -> (``https://host/r``, ``u``, ``p``). SSH URLs keep their user
    (it is the login name, not a secret) and only lose a password."""
    url = url.strip()
    if "://" not in url:
        return url, None, None
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    username = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    if is_ssh(url) and username:
        netloc = f"{parts.username}@{netloc}"
        username = None
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), username, password


def redact(text: str) -> str:
    """Remove userinfo from every URL in ``text`` (for messages and logs)."""
    return _USERINFO.sub(lambda match: match["scheme"], text)


def display(url: str) -> str:
    """The URL as it may appear in messages: no password, no userinfo for HTTP(S)."""
    stripped, _, _ = split_userinfo(url)
    return redact(stripped) if not is_ssh(stripped) else stripped


def normalise(url: str) -> str:
    """Argo CD-style comparison form: scp-like to ``ssh://``, lower case, no ``.git``, no
    trailing slash, no password. Two URLs naming the same repository normalise equal."""
    stripped, _, _ = split_userinfo(_to_url_form(url))
    return stripped.lower().rstrip("/").removesuffix(".git").rstrip("/")


def repo_key(url: str) -> str:
    """The repository's identity whatever the way it is reached: ``host[:port]/path``.

    Scheme, user info, default ports, a trailing ``/`` and ``.git`` are dropped and the host is
    lower-cased (the path keeps its case): ``ssh://git@Host:22/org/repo.git``,
    ``git@host:org/repo`` and ``https://host/org/repo/`` all give ``host/org/repo``. Local paths
    (and ``file://``) keep only the path. Webhook payloads name a repository by its web, HTTPS
    and SSH URLs at once, so matching them against an app's repoURL needs this form;
    :func:`normalise` keeps the scheme (credentials and caches differ per transport).
    """
    parts = urllib.parse.urlsplit(_to_url_form(url))
    if not parts.scheme or parts.scheme.lower() == "file":
        host, path = "", parts.path if parts.scheme else url.strip()
    else:
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        if ":" in host:
            host = f"[{host}]"
        if port is not None and port != _DEFAULT_PORTS.get(scheme):
            host = f"{host}:{port}"
        path = parts.path
    path = path.rstrip("/").removesuffix(".git").rstrip("/")
    if host:
        return f"{host}/{path.lstrip('/')}" if path.strip("/") else host
    return path


def normalise_prefix(url: str) -> str:
    """Like :func:`normalise` for a credential template URL, but a trailing slash is kept so
    that ``https://host/org/`` does not match ``https://host/org-other/...``."""
    stripped, _, _ = split_userinfo(_to_url_form(url))
    lowered = stripped.lower()
    return lowered.removesuffix(".git") if not lowered.endswith("/") else lowered


def hostname(url: str) -> str:
    return (urllib.parse.urlsplit(_to_url_form(url)).hostname or "").lower()


def cache_dir_name(url: str) -> str:
    """A filesystem-safe, readable and unique directory name for a repository URL."""
    key = normalise(url)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    readable = re.sub(r"[^a-z0-9._-]+", "_", key.split("://", 1)[-1]).strip("_")[-60:]
    return f"{readable}-{digest}"


def permitted(patterns: Iterable[str], url: str) -> bool:
    """AppProject ``sourceRepos`` semantics: some pattern matches ``url`` and no ``!pattern``
    does. Patterns and URL are compared in :func:`normalise` form, with Tidegate's globs."""
    wanted = normalise(url)
    allowed = False
    for pattern in patterns:
        if pattern.startswith("!"):
            if globs.matches(normalise(pattern[1:]), wanted):
                return False
        elif globs.matches(normalise(pattern), wanted):
            allowed = True
    return allowed
