"""Git webhooks, parsing: turn one delivery into a push event, checking its signature. Pure, no I/O.

:func:`parse` reads the headers and raw body of a delivery from GitHub, GitLab, Bitbucket Cloud,
Bitbucket Server, Gitea or Gogs and returns a :class:`PushEvent` (or a :class:`Ping`), or raises a
:class:`~tidegate.model.errors.WebhookError` whose ``status`` is the HTTP status to answer with
(400 unsupported or malformed, 401 bad signature). Messages never contain a secret, a signature or
the body. Matching events to Applications lives in :mod:`tidegate.controller.webhook_match`; its
public names are re-exported here.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tidegate.controller import webhook_match
from tidegate.model import errors
from tidegate.model import secrets as model_secrets
from tidegate.sources import urls

HEADS = webhook_match.HEADS
TAGS = webhook_match.TAGS

# Matching, re-exported so that the controller needs one module.
application_matches = webhook_match.application_matches
matches = webhook_match.matches
paths_match = webhook_match.paths_match
revision_matches = webhook_match.revision_matches
same_repo = webhook_match.same_repo
short_ref = webhook_match.short_ref


class Provider(enum.StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    BITBUCKET = "bitbucket"
    BITBUCKET_SERVER = "bitbucketserver"
    GITEA = "gitea"
    GOGS = "gogs"


@dataclasses.dataclass(frozen=True)
class PushEvent:
    """A push, as the provider described it. ``refs`` are full names (``refs/heads/main``)."""

    provider: Provider
    repo_urls: tuple[str, ...]
    revision: str  # the first pushed ref's short name: refs/heads/main -> main, refs/tags/v1 -> v1
    before: str
    after: str
    # Files added, modified or removed across the pushed commits. Empty when the provider does not
    # list them (Bitbucket) or listed only part of the commits: then nothing can be filtered out.
    changed_files: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    default_branch: str = ""  # "" when the payload does not say
    delivery: str = ""  # the provider's delivery id, for logs

    @functools.cached_property
    def repo_keys(self) -> frozenset[str]:
        """The repo URLs normalised and case-folded, computed once for matching many apps."""
        return frozenset(urls.repo_key(url).casefold() for url in self.repo_urls)

    @property
    def revisions(self) -> tuple[str, ...]:
        return tuple(short_ref(ref) for ref in self.refs) or (self.revision,)

    @property
    def branches(self) -> tuple[str, ...]:
        return tuple(short_ref(ref) for ref in self.refs if not ref.startswith(TAGS))


@dataclasses.dataclass(frozen=True)
class Ping:
    """A provider checking that the endpoint answers (GitHub ``ping``, Bitbucket Server test)."""

    provider: Provider
    delivery: str = ""


@dataclasses.dataclass(frozen=True)
class WebhookSecrets:
    """Shared secrets per provider; an empty string means "not configured, accept unsigned".

    ``repr`` shows which providers are configured, never the values.
    """

    github: str = dataclasses.field(default="", repr=False)
    gitlab: str = dataclasses.field(default="", repr=False)
    bitbucket_uuid: str = dataclasses.field(default="", repr=False)
    bitbucket_secret: str = dataclasses.field(default="", repr=False)
    bitbucketserver: str = dataclasses.field(default="", repr=False)
    gitea: str = dataclasses.field(default="", repr=False)
    gogs: str = dataclasses.field(default="", repr=False)

    def __repr__(self) -> str:
        names = [f.name for f in dataclasses.fields(self) if getattr(self, f.name)]
        return f"WebhookSecrets(configured={names})"

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> WebhookSecrets:
        """Read Argo CD's keys from the ``argocd-secret`` Secret (``data``, or ``stringData``)."""
        values = {key: model_secrets.value(secret, key) for key in _SECRET_KEYS}
        return cls(**{_SECRET_KEYS[k]: v for k, v in values.items() if v is not None})


_SECRET_KEYS = {
    "webhook.github.secret": "github",
    "webhook.gitlab.secret": "gitlab",
    "webhook.bitbucket.uuid": "bitbucket_uuid",
    "webhook.bitbucket.secret": "bitbucket_secret",
    "webhook.bitbucketserver.secret": "bitbucketserver",
    "webhook.gitea.secret": "gitea",
    "webhook.gogs.secret": "gogs",
}

# (provider, event header, delivery-id header), in the order they are looked for: Gitea also sends
# the Gogs headers, so it must come first.
_EVENT_HEADERS = (
    (Provider.GITHUB, "x-github-event", "x-github-delivery"),
    (Provider.GITLAB, "x-gitlab-event", "x-gitlab-event-uuid"),
    (Provider.GITEA, "x-gitea-event", "x-gitea-delivery"),
    (Provider.GOGS, "x-gogs-event", "x-gogs-delivery"),
)
_GITLAB_PUSH_HOOKS = ("Push Hook", "Tag Push Hook", "System Hook")


def parse(headers: Mapping[str, str], body: bytes, secrets: WebhookSecrets) -> PushEvent | Ping:
    """Parse one delivery. Raises a WebhookError (``status`` 400 or 401) when it is refused."""
    lower = {k.lower(): v for k, v in headers.items()}
    provider, event, delivery = _identify(lower)
    _verify(provider, lower, body, secrets)
    if event == "ping":
        return Ping(provider=provider, delivery=delivery)
    if provider is Provider.GITHUB and "x-www-form-urlencoded" in lower.get("content-type", ""):
        raise errors.WebhookPayloadError(
            "GitHub delivery is form-encoded: set the webhook's content type to application/json"
        )
    payload = _load_json(provider, body)
    extract = _EXTRACTORS[provider]
    return dataclasses.replace(extract(payload), delivery=delivery)


def _identify(headers: Mapping[str, str]) -> tuple[Provider, str, str]:
    """Return (provider, "push" or "ping", delivery id), or raise WebhookEventError."""
    for provider, event_header, delivery_header in _EVENT_HEADERS:
        if event_header not in headers:
            continue
        value = headers[event_header]
        delivery = headers.get(delivery_header, "")
        if provider is Provider.GITHUB and value in ("push", "ping"):
            return provider, value, delivery
        if provider is Provider.GITLAB and value in _GITLAB_PUSH_HOOKS:
            return provider, "push", delivery
        if provider in (Provider.GITEA, Provider.GOGS) and value == "push":
            return provider, "push", delivery
        raise errors.WebhookEventError(
            f"unsupported {provider.value} event: {_header_name(event_header)}={_shown(value)}"
            " (only push events are handled)"
        )
    key = headers.get("x-event-key")
    if key is not None:
        if key == "repo:push":
            return Provider.BITBUCKET, "push", headers.get("x-request-uuid", "")
        server_delivery = headers.get("x-request-id", "")
        if key == "repo:refs_changed":
            return Provider.BITBUCKET_SERVER, "push", server_delivery
        if key == "diagnostics:ping":
            return Provider.BITBUCKET_SERVER, "ping", server_delivery
        raise errors.WebhookEventError(
            f"unsupported Bitbucket event: X-Event-Key={_shown(key)}"
            " (only repo:push and repo:refs_changed are handled)"
        )
    raise errors.WebhookEventError(
        "unknown webhook: none of the headers X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event,"
        " X-Gogs-Event, X-Event-Key is present"
    )


def _header_name(lower: str) -> str:
    """``x-hook-uuid`` -> ``X-Hook-UUID``, as the providers' documentation spells it."""
    return "-".join(_HEADER_WORDS.get(word, word.capitalize()) for word in lower.split("-"))


_HEADER_WORDS = {"github": "GitHub", "uuid": "UUID"}


def _shown(value: str) -> str:
    """A header value quoted for a message: attacker-controlled, so bounded and escaped."""
    return repr(value[:80] + ("..." if len(value) > 80 else ""))


def _verify(
    provider: Provider, headers: Mapping[str, str], body: bytes, secrets: WebhookSecrets
) -> None:
    if provider is Provider.GITHUB:
        _check_hmac(provider, headers, "x-hub-signature-256", "sha256=", secrets.github, body)
    elif provider is Provider.GITLAB:
        _check_token(provider, headers, "x-gitlab-token", secrets.gitlab)
    elif provider is Provider.BITBUCKET:
        _check_token(provider, headers, "x-hook-uuid", secrets.bitbucket_uuid)
        _check_hmac(provider, headers, "x-hub-signature", "sha256=", secrets.bitbucket_secret, body)
    elif provider is Provider.BITBUCKET_SERVER:
        _check_hmac(provider, headers, "x-hub-signature", "sha256=", secrets.bitbucketserver, body)
    elif provider is Provider.GITEA:
        _check_hmac(provider, headers, "x-gitea-signature", "", secrets.gitea or secrets.gogs, body)
    else:
        _check_hmac(provider, headers, "x-gogs-signature", "", secrets.gogs, body)


def _check_token(provider: Provider, headers: Mapping[str, str], header: str, secret: str) -> None:
    if not secret:
        return
    given = headers.get(header)
    if given is None:
        raise errors.WebhookSignatureError(
            f"{provider.value} delivery has no {_header_name(header)} header,"
            " but a webhook secret is configured"
        )
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise errors.WebhookSignatureError(
            f"{provider.value} delivery: {_header_name(header)} does not match"
            " the configured secret"
        )


def _check_hmac(
    provider: Provider,
    headers: Mapping[str, str],
    header: str,
    prefix: str,
    secret: str,
    body: bytes,
) -> None:
    if not secret:
        return
    given = headers.get(header)
    if given is None:
        raise errors.WebhookSignatureError(
            f"{provider.value} delivery has no {_header_name(header)} header,"
            " but a webhook secret is configured"
        )
    expected = prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise errors.WebhookSignatureError(
            f"{provider.value} delivery: the {_header_name(header)} signature does not match"
            " the body signed with the configured secret"
        )


def _load_json(provider: Provider, body: bytes) -> Mapping[str, Any]:
    try:
        payload = json.loads(body)
    except UnicodeDecodeError as exc:
        raise errors.WebhookPayloadError(
            f"{provider.value} delivery: body is not UTF-8 text (byte {exc.start})"
        ) from None
    except json.JSONDecodeError as exc:
        raise errors.WebhookPayloadError(
            f"{provider.value} delivery: malformed JSON: {exc.msg} at line {exc.lineno}"
            f" column {exc.colno} (char {exc.pos})"
        ) from None
    if not isinstance(payload, dict):
        raise errors.WebhookPayloadError(
            f"{provider.value} delivery: the JSON body is a {type(payload).__name__}, not an object"
        )
    return payload


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _text(obj: Any, *path: str) -> str:
    value = _get(obj, *path)
    return value if isinstance(value, str) else ""


def _required_ref(provider: Provider, payload: Mapping[str, Any]) -> str:
    ref = _text(payload, "ref")
    if not ref:
        raise errors.WebhookPayloadError(f"{provider.value} push payload has no 'ref'")
    return ref


def _urls(provider: Provider, candidates: Iterable[Any]) -> tuple[str, ...]:
    urls = tuple(dict.fromkeys(c for c in candidates if isinstance(c, str) and c))
    if not urls:
        raise errors.WebhookPayloadError(f"{provider.value} push payload names no repository URL")
    return urls


def _commit_files(commits: Any) -> tuple[str, ...]:
    files: dict[str, None] = {}
    for commit in commits if isinstance(commits, list) else ():
        for kind in ("added", "modified", "removed"):
            for name in _get(commit, kind) or ():
                if isinstance(name, str) and name.strip("/"):
                    files[name.strip("/")] = None
    return tuple(files)


def _push(
    provider: Provider, payload: Mapping[str, Any], repo: Any, urls: Sequence[Any]
) -> PushEvent:
    """The GitHub / Gitea / Gogs shape (GitLab differs only in where the URLs are)."""
    ref = _required_ref(provider, payload)
    return PushEvent(
        provider=provider,
        repo_urls=_urls(provider, urls),
        revision=short_ref(ref),
        before=_text(payload, "before"),
        after=_text(payload, "after"),
        changed_files=_commit_files(payload.get("commits")),
        refs=(ref,),
        default_branch=_text(repo, "default_branch") or _text(repo, "master_branch"),
    )


def _github(payload: Mapping[str, Any]) -> PushEvent:
    repo = payload.get("repository")
    keys = ("html_url", "clone_url", "ssh_url", "git_url", "url")
    return _push(Provider.GITHUB, payload, repo, [_get(repo, k) for k in keys])


def _gitea(provider: Provider) -> Callable[[Mapping[str, Any]], PushEvent]:
    def extract(payload: Mapping[str, Any]) -> PushEvent:
        repo = payload.get("repository")
        keys = ("html_url", "clone_url", "ssh_url")
        return _push(provider, payload, repo, [_get(repo, k) for k in keys])

    return extract


def _gitlab(payload: Mapping[str, Any]) -> PushEvent:
    kind = _text(payload, "object_kind") or _text(payload, "event_name")
    if kind not in ("push", "tag_push"):
        raise errors.WebhookEventError(
            f"unsupported gitlab event: object_kind={_shown(kind)} (only push and tag_push)"
        )
    project, repo = payload.get("project"), payload.get("repository")
    urls = [_get(project, k) for k in ("web_url", "git_http_url", "git_ssh_url", "http_url")]
    urls += [_get(repo, k) for k in ("homepage", "git_http_url", "git_ssh_url", "url")]
    event = _push(Provider.GITLAB, payload, project, urls)
    commits = payload.get("commits")
    total = payload.get("total_commits_count")
    listed = len(commits) if isinstance(commits, list) else 0
    if isinstance(total, int) and total > listed:  # GitLab lists at most 20 commits
        event = dataclasses.replace(event, changed_files=())
    return event


def _bitbucket(payload: Mapping[str, Any]) -> PushEvent:
    repo = payload.get("repository")
    urls = _urls(Provider.BITBUCKET, [_get(repo, "links", "html", "href")])
    refs: list[str] = []
    before = after = ""
    for change in _get(payload, "push", "changes") or ():
        state = _get(change, "new") or _get(change, "old")  # "new" is null when a ref is deleted
        name = _text(state, "name")
        if not name:
            continue
        refs.append((TAGS if "tag" in _text(state, "type") else HEADS) + name)
        if len(refs) == 1:
            before = _text(change, "old", "target", "hash")
            after = _text(change, "new", "target", "hash")
    return _multi_ref_event(Provider.BITBUCKET, urls, refs, before, after, repo)


def _bitbucket_server(payload: Mapping[str, Any]) -> PushEvent:
    repo = payload.get("repository")
    clone_links = _get(repo, "links", "clone")
    links = clone_links if isinstance(clone_links, list) else []
    urls = _urls(Provider.BITBUCKET_SERVER, [_get(link, "href") for link in links])
    refs: list[str] = []
    before = after = ""
    for change in payload.get("changes") or ():
        ref = _text(change, "ref", "id") or _text(change, "refId")
        if not ref:
            continue
        refs.append(ref)
        if len(refs) == 1:
            before, after = _text(change, "fromHash"), _text(change, "toHash")
    return _multi_ref_event(Provider.BITBUCKET_SERVER, urls, refs, before, after, repo)


def _multi_ref_event(
    provider: Provider, urls: tuple[str, ...], refs: list[str], before: str, after: str, repo: Any
) -> PushEvent:
    if not refs:
        raise errors.WebhookPayloadError(f"{provider.value} push payload names no changed ref")
    return PushEvent(
        provider=provider,
        repo_urls=urls,
        revision=short_ref(refs[0]),
        before=before,
        after=after,
        refs=tuple(dict.fromkeys(refs)),
        default_branch=_text(repo, "mainbranch", "name"),
    )


_EXTRACTORS: Mapping[Provider, Callable[[Mapping[str, Any]], PushEvent]] = {
    Provider.GITHUB: _github,
    Provider.GITLAB: _gitlab,
    Provider.BITBUCKET: _bitbucket,
    Provider.BITBUCKET_SERVER: _bitbucket_server,
    Provider.GITEA: _gitea(Provider.GITEA),
    Provider.GOGS: _gitea(Provider.GOGS),
}
