"""``argocd-notifications-cm`` and ``argocd-notifications-secret``, read and checked (pure).

Keys: ``service.<type>`` / ``service.<type>.<name>``, ``template.<name>``, ``trigger.<name>``,
``defaultTriggers``, ``defaultTriggers.<service>``, ``subscriptions``, ``context``. The
catalog (:mod:`.catalog`) provides the default triggers and templates; a key of the same name
replaces its entry. Everything is checked when loaded: a template that does not parse, a
``when``/``oncePer`` outside the expression subset, a trigger sending an unknown template, a
service of an unknown type, with a bad URL or naming a ``$key`` the Secret lacks. Each bad
entry is left out and described in :attr:`Config.problems` (naming the key and the cause);
the rest works. Secret values are substituted into service settings only, never into
problems or logs.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import yaml

from tidegate import expr
from tidegate.appset import gotemplate
from tidegate.model import errors
from tidegate.notify import catalog, exprenv

CONFIGMAP = "argocd-notifications-cm"
SECRET = "argocd-notifications-secret"
SERVICE_TYPES = frozenset({"webhook", "slack", "email", "github", "teams"})
MAX_RECIPIENTS = 1000  # per subscription: a list longer than this is refused
_SECRET_REF = re.compile(r"\$([\w-]+)")


@dataclasses.dataclass(frozen=True)
class Condition:
    when: str
    send: tuple[str, ...]
    once_per: str = ""
    description: str = ""
    when_program: expr.Program | None = None
    once_per_program: expr.Program | None = None

    def key(self, index: int) -> str:
        """``[<index>].<base64url(sha1(when))>``, the condition's part of a notified key."""
        digest = hashlib.sha1(self.when.encode()).digest()
        return f"[{index}].{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


@dataclasses.dataclass(frozen=True)
class Service:
    name: str  # what subscriptions name: <name> of service.<type>.<name>, else <type>
    type: str
    options: Mapping[str, Any]  # secrets substituted


@dataclasses.dataclass(frozen=True)
class GlobalSubscription:
    recipients: tuple[tuple[str, str], ...]  # (service, recipient)
    triggers: tuple[str, ...]
    selector: Mapping[str, str]


@dataclasses.dataclass
class Config:
    services: dict[str, Service] = dataclasses.field(default_factory=dict)
    templates: dict[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    triggers: dict[str, tuple[Condition, ...]] = dataclasses.field(default_factory=dict)
    default_triggers: tuple[str, ...] = ()
    default_triggers_by_service: dict[str, tuple[str, ...]] = dataclasses.field(
        default_factory=dict
    )
    subscriptions: tuple[GlobalSubscription, ...] = ()
    context: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)
    secret_values: tuple[str, ...] = ()  # to scrub from anything shown

    def scrub(self, text: str) -> str:
        for value in self.secret_values:
            if value:
                text = text.replace(value, "******")
        return text


def _yaml(key: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise errors.ConfigError(f"{CONFIGMAP} {key}: invalid YAML{where}") from None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def check_template(name: str, template: Any, engine: gotemplate.Templates) -> Mapping[str, Any]:
    if not isinstance(template, Mapping):
        raise errors.ConfigError(f"template.{name}: must be a map of fields (message, email ...)")
    for text in _strings(template):
        try:
            engine.compile(text)
        except errors.TemplateError as exc:
            raise errors.ConfigError(f"template.{name}: {exc}") from None
    return template


def check_trigger(name: str, spec: Any, templates: Mapping[str, Any]) -> tuple[Condition, ...]:
    if not isinstance(spec, list) or not spec:
        raise errors.ConfigError(f"trigger.{name}: must be a non-empty list of conditions")
    out = []
    for index, cond in enumerate(spec):
        where = f"trigger.{name}[{index}]"
        if not isinstance(cond, Mapping) or not isinstance(cond.get("when"), str):
            raise errors.ConfigError(f"{where}: needs a 'when' expression")
        send = cond.get("send") or []
        if not isinstance(send, list) or not send or not all(isinstance(s, str) for s in send):
            raise errors.ConfigError(f"{where}: 'send' must list template names")
        unknown = [s for s in send if s not in templates]
        if unknown:
            raise errors.ConfigError(f"{where}: sends unknown template {unknown[0]!r}")
        once_per = str(cond.get("oncePer") or "")
        try:
            when = exprenv.compile_condition(cond["when"])
            once = exprenv.compile_condition(once_per) if once_per else None
        except expr.ExprError as exc:
            raise errors.ConfigError(f"{where}: {exc}") from None
        out.append(
            Condition(
                when=cond["when"],
                send=tuple(send),
                once_per=once_per,
                description=str(cond.get("description") or ""),
                when_program=when,
                once_per_program=once,
            )
        )
    return tuple(out)


def _substitute(value: Any, secret: Mapping[str, str], key: str) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in secret:
                raise errors.ConfigError(f"{key}: ${name} is not a key of Secret {SECRET}")
            return secret[name]

        return _SECRET_REF.sub(repl, value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, secret, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, secret, key) for v in value]
    return value


def _check_url(key: str, field: str, url: Any) -> None:
    parsed = urllib.parse.urlsplit(str(url or ""))
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise errors.ConfigError(f"{key}: {field} must be an http(s) URL with a host")


def check_service(key: str, raw: Any, secret: Mapping[str, str]) -> Service:
    parts = key.split(".")
    if len(parts) not in (2, 3) or parts[0] != "service":
        raise errors.ConfigError(f"{key}: expected service.<type> or service.<type>.<name>")
    kind = parts[1]
    if kind not in SERVICE_TYPES:
        raise errors.ConfigError(
            f"{key}: service type {kind!r} is not supported ({', '.join(sorted(SERVICE_TYPES))})"
        )
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise errors.ConfigError(f"{key}: must be a map of settings")
    options = _substitute(raw, secret, key)
    if kind == "webhook":
        _check_url(key, "url", options.get("url"))
    elif kind == "teams":
        urls = options.get("recipientUrls") or {}
        if not isinstance(urls, Mapping):
            raise errors.ConfigError(f"{key}: recipientUrls must map recipients to URLs")
        for name, url in urls.items():
            _check_url(key, f"recipientUrls.{name}", url)
    elif kind == "slack":
        if not options.get("token") and not options.get("webhookURL"):
            raise errors.ConfigError(f"{key}: needs a token (bot API) or a webhookURL")
        if options.get("webhookURL"):
            _check_url(key, "webhookURL", options["webhookURL"])
        if options.get("apiURL"):
            _check_url(key, "apiURL", options["apiURL"])
    elif kind == "github":
        if not options.get("token"):
            raise errors.ConfigError(f"{key}: needs a token")
        if options.get("apiURL"):
            _check_url(key, "apiURL", options["apiURL"])
    elif kind == "email":
        if not options.get("host") or not options.get("from"):
            raise errors.ConfigError(f"{key}: needs host and from")
        try:
            int(options.get("port") or 25)
        except (TypeError, ValueError):
            raise errors.ConfigError(f"{key}: port must be a number") from None
    return Service(name=parts[2] if len(parts) == 3 else kind, type=kind, options=options)


def _names(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.ConfigError(f"{key}: must be a list of trigger names")
    return tuple(value)


def _subscription(index: int, raw: Any) -> GlobalSubscription:
    where = f"subscriptions[{index}]"
    if not isinstance(raw, Mapping):
        raise errors.ConfigError(f"{where}: must be a map")
    recipients = raw.get("recipients") or []
    if not isinstance(recipients, list) or len(recipients) > MAX_RECIPIENTS:
        raise errors.ConfigError(
            f"{where}: recipients must be a list of at most {MAX_RECIPIENTS} 'service:recipient'"
        )
    pairs = []
    for item in recipients:
        service, _, recipient = str(item).partition(":")
        pairs.append((service.strip(), recipient.strip()))
    selector: dict[str, str] = {}
    for term in str(raw.get("selector") or "").split(","):
        if term.strip():
            k, sep, v = term.partition("=")
            if not sep:
                raise errors.ConfigError(f"{where}: selector term {term!r} is not key=value")
            selector[k.strip()] = v.strip().lstrip("=")
    return GlobalSubscription(
        tuple(pairs), _names(f"{where}.triggers", raw.get("triggers") or []), selector
    )


def decode_secret(secret: Mapping[str, Any] | None) -> dict[str, str]:
    """The Secret's ``data`` decoded (and ``stringData``), as strings."""
    out: dict[str, str] = {}
    for k, v in ((secret or {}).get("data") or {}).items():
        try:
            out[k] = base64.b64decode(str(v), validate=True).decode(errors="replace")
        except ValueError:  # binascii.Error: the API server validates data; skip, never crash
            continue
    out.update({k: str(v) for k, v in ((secret or {}).get("stringData") or {}).items()})
    return out


def load(data: Mapping[str, str] | None, secret: Mapping[str, str] | None = None) -> Config:
    """Read the ConfigMap's ``data`` with the decoded Secret; bad entries go to ``problems``."""
    data, secret = dict(data or {}), dict(secret or {})
    config = Config(secret_values=tuple(v for v in secret.values() if len(v) >= 4))
    engine = gotemplate.Templates()
    raw_templates: dict[str, Any] = dict(catalog.TEMPLATES)
    raw_triggers: dict[str, Any] = dict(catalog.TRIGGERS)

    def attempt(key: str, fn: Any) -> None:
        try:
            fn()
        except errors.ConfigError as exc:
            config.problems.append(config.scrub(str(exc)))

    for key, text in sorted(data.items()):
        if key.startswith("template."):
            attempt(key, lambda k=key, t=text: raw_templates.__setitem__(k[9:], _yaml(k, t)))
        elif key.startswith("trigger."):
            attempt(key, lambda k=key, t=text: raw_triggers.__setitem__(k[8:], _yaml(k, t)))
    for name, template in raw_templates.items():
        attempt(
            f"template.{name}",
            lambda n=name, t=template: config.templates.__setitem__(
                n, check_template(n, t, engine)
            ),
        )
    for name, spec in raw_triggers.items():
        attempt(
            f"trigger.{name}",
            lambda n=name, s=spec: config.triggers.__setitem__(
                n, check_trigger(n, s, config.templates)
            ),
        )
    for key, text in sorted(data.items()):
        if key.startswith("service."):

            def add_service(k: str = key, t: str = text) -> None:
                service = check_service(k, _yaml(k, t), secret)
                config.services[service.name] = service

            attempt(key, add_service)
        elif key == "defaultTriggers":

            def defaults(k: str = key, t: str = text) -> None:
                config.default_triggers = _names(k, _yaml(k, t))

            attempt(key, defaults)
        elif key.startswith("defaultTriggers."):
            attempt(
                key,
                lambda k=key, t=text: config.default_triggers_by_service.__setitem__(
                    k.split(".", 1)[1], _names(k, _yaml(k, t))
                ),
            )
        elif key == "subscriptions":

            def subs(k: str = key, t: str = text) -> None:
                items = _yaml(k, t) or []
                if not isinstance(items, list):
                    raise errors.ConfigError(f"{k}: must be a list")
                config.subscriptions = tuple(_subscription(i, s) for i, s in enumerate(items))

            attempt(key, subs)
        elif key == "context":

            def ctx(k: str = key, t: str = text) -> None:
                value = _yaml(k, t) or {}
                if not isinstance(value, Mapping):
                    raise errors.ConfigError(f"{k}: must be a map")
                config.context = value

            attempt(key, ctx)
    return config
