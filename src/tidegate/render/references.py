"""What a reference written in a kustomization (or a Helm value-file list) names. Pure.

Kustomize accepts, wherever it loads a directory (``resources``, ``bases``, ``components``,
``transformers``...), a local path or a git repository written in one of its URL forms:
``https://host/org/repo//path?ref=v1``, ``https://host/org/repo.git/path``,
``ssh://git@host/org/repo//path``, ``git@host:org/repo//path``, ``github.com/org/repo/path``,
each optionally behind ``git::``. In fields that load a file it accepts a local path or an
``http(s)`` URL it downloads itself. Tidegate decides here, before kustomize runs, which is which:

- a git repository over ``http``, ``https`` or ``ssh`` (:class:`Remote`): fetched by Tidegate
  itself (project and credential checks are the caller's, see ``render.kustomize_graph``);
- a relative local path: kept (the caller resolves it inside the repository);
- anything else is refused with the rule it breaks (:data:`RULES`): ``file://`` URLs, other
  schemes, absolute paths, NUL bytes, passwords in URLs, URLs where a file is expected.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from pathlib import PurePosixPath

from tidegate.model import errors

RULE_FILE_URL = (
    "file:// URLs are refused: a render reads only its repository and remote repositories"
)
RULE_SCHEME = "only http, https and ssh remote repositories are allowed"
RULE_ABSOLUTE = "absolute paths are refused: paths must be relative to the kustomization"
RULE_NUL = "NUL bytes are refused"
RULE_PASSWORD = (
    "credentials in reference URLs are refused: Tidegate uses the credentials it holds for the "
    "repository"
)
RULE_REMOTE_FILE = (
    "URLs are refused where a file is expected: kustomize would download it itself, without "
    "Tidegate's project and credential checks (reference a repository directory instead)"
)
RULE_REPO_END = (
    "cannot tell where the repository ends: write <repository URL>//<path>?ref=<revision>"
)
RULES = (
    RULE_FILE_URL,
    RULE_SCHEME,
    RULE_ABSOLUTE,
    RULE_NUL,
    RULE_PASSWORD,
    RULE_REMOTE_FILE,
    RULE_REPO_END,
)

_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^(?P<user>[^@/:\s]+)@(?P<host>[^:/\s]+):(?P<path>.*)$")
_GIT_FORCED = "git::"
_GITHUB_SHORT = ("github.com/", "github.com:")
_REPO_SCHEMES = ("http", "https", "ssh")


@dataclasses.dataclass(frozen=True)
class Remote:
    """A git repository reference: clone URL, directory inside the repository, revision."""

    repo_url: str
    path: str = ""
    ref: str = ""

    def shown(self) -> str:
        suffix = f"//{self.path}" if self.path else ""
        return f"{self.repo_url}{suffix}" + (f"?ref={self.ref}" if self.ref else "")


def refuse(what: str, entry: str, rule: str) -> errors.ReferenceRefusedError:
    return errors.ReferenceRefusedError(f"{what} {_printable(entry)!r}: {rule}")


def _printable(entry: str) -> str:
    """``entry`` as it may appear in a message: no password in any URL, no userinfo at all in
    an http(s) URL (a token is often given as the user name)."""
    entry = re.sub(r"(?i)(https?://)[^/@\s]*@", r"\1******@", entry)
    return re.sub(r"(://[^/@:\s]*):[^/@\s]*@", r"\1:******@", entry)


def _split_ref(body: str) -> tuple[str, str]:
    text, _, query = body.partition("?")
    values = urllib.parse.parse_qs(query)
    ref = (values.get("ref") or values.get("version") or [""])[0]
    return text, ref


def _split_repo(host_part: str, path: str, *, github: bool) -> tuple[str, str] | None:
    """(repository path, path inside it) from the path of a reference URL, or None."""
    path = path.lstrip("/")
    if "//" in path:
        repo, _, inside = path.partition("//")
        return repo, inside.strip("/")
    if "_git/" in path:
        before, _, after = path.partition("_git/")
        name, _, inside = after.partition("/")
        return f"{before}_git/{name}", inside.strip("/")
    match = re.search(r"\.git(?=/|$)", path)
    if match:
        return path[: match.end()], path[match.end() :].strip("/")
    if github:
        parts = path.split("/")
        if len(parts) >= 2 and all(parts[:2]):
            return "/".join(parts[:2]), "/".join(parts[2:]).strip("/")
    return None


def classify_directory(entry: str, *, what: str) -> Remote | str:
    """A reference where kustomize loads a directory: a :class:`Remote`, or the local path
    (relative, as written). Refused references raise :class:`ReferenceRefusedError`."""
    if "\x00" in entry:
        raise refuse(what, entry.replace("\x00", "\\0"), RULE_NUL)
    text = entry.strip()
    forced = text.lower().startswith(_GIT_FORCED)
    if forced:
        text = text[len(_GIT_FORCED) :]
    body, ref = _split_ref(text)
    scheme = _SCHEME.match(body)
    if scheme is not None:
        name = scheme["scheme"].lower()
        if name == "file":
            raise refuse(what, entry, RULE_FILE_URL)
        if name not in _REPO_SCHEMES:
            raise refuse(what, entry, RULE_SCHEME)
        parts = urllib.parse.urlsplit(body)
        if parts.password is not None or (name != "ssh" and parts.username is not None):
            raise refuse(what, entry, RULE_PASSWORD)  # an ssh user is a login name: kept
        host = (parts.hostname or "").lower()
        split = _split_repo(parts.netloc, parts.path, github=host == "github.com")
        if not parts.netloc or split is None:
            raise refuse(what, entry, RULE_REPO_END)
        repo, inside = split
        return Remote(f"{name}://{parts.netloc}/{repo}", inside, ref)
    scp = _SCP_LIKE.match(body)
    if scp is not None:
        split = _split_repo(scp["host"], scp["path"], github=scp["host"].lower() == "github.com")
        if split is None:
            raise refuse(what, entry, RULE_REPO_END)
        repo, inside = split
        return Remote(f"{scp['user']}@{scp['host']}:{repo}", inside, ref)
    lowered = body.lower()
    if lowered.startswith(_GITHUB_SHORT) or lowered.startswith("gh:"):
        rest = body.split(":", 1)[1] if lowered.startswith("gh:") else body[len("github.com/") :]
        split = _split_repo("github.com", rest, github=True)
        if split is None:
            raise refuse(what, entry, RULE_REPO_END)
        repo, inside = split
        return Remote(f"https://github.com/{repo}", inside, ref)
    if forced:
        raise refuse(what, entry, RULE_SCHEME)  # git:: before a local path: a local clone
    if PurePosixPath(entry).is_absolute():
        raise refuse(what, entry, RULE_ABSOLUTE)
    return entry


def classify_file(entry: str, *, what: str) -> str:
    """A reference where kustomize loads a file: the local relative path, or refused."""
    if "\x00" in entry:
        raise refuse(what, entry.replace("\x00", "\\0"), RULE_NUL)
    scheme = _SCHEME.match(entry.strip())
    if scheme is not None:
        rule = RULE_FILE_URL if scheme["scheme"].lower() == "file" else RULE_REMOTE_FILE
        raise refuse(what, entry, rule)
    if PurePosixPath(entry).is_absolute():
        raise refuse(what, entry, RULE_ABSOLUTE)
    return entry


def classify_value_file(entry: str, *, what: str) -> Remote | None:
    """A Helm value file: a :class:`Remote` (repository URL, file path inside it), or None for
    a local or ``$ref`` path (the caller checks those). ``file://`` and other schemes raise."""
    if "\x00" in entry:
        raise refuse(what, entry.replace("\x00", "\\0"), RULE_NUL)
    if _SCHEME.match(entry.strip()) is None and _SCP_LIKE.match(entry.strip()) is None:
        return None
    found = classify_directory(entry, what=what)
    if isinstance(found, str) or not found.path:
        raise refuse(what, entry, RULE_REPO_END)
    return found


def classify_chart_repository(entry: str, *, what: str) -> tuple[str, str]:
    """A Chart.yaml dependency ``repository``: ("local", path) for ``file://``, ("remote",
    url) for http(s)/oci, ("name", entry) for ``@name``/``alias:`` or empty. Others raise."""
    text = entry.strip()
    if not text or text.startswith("@") or text.startswith("alias:"):
        return "name", text
    scheme = _SCHEME.match(text)
    if scheme is None:
        raise refuse(what, entry, RULE_SCHEME)
    name = scheme["scheme"].lower()
    if name == "file":
        local = text[len("file://") :]
        if "\x00" in local:
            raise refuse(what, entry.replace("\x00", "\\0"), RULE_NUL)
        if PurePosixPath(local).is_absolute():
            raise refuse(what, entry, RULE_ABSOLUTE)
        return "local", local
    if name not in ("http", "https", "oci"):
        raise refuse(what, entry, "only http, https and oci chart repositories are allowed")
    if urllib.parse.urlsplit(text).username is not None:
        raise refuse(what, entry, RULE_PASSWORD)
    return "remote", text
