"""Sending one rendered notification to one recipient: webhook, Slack, email, GitHub, Teams.

Each send builds its request as plain data (:func:`build`, pure) and then sends it; a failure
that may pass (a connection error, a timeout, 429 or 5xx) is retried with exponential backoff,
at most ``retryMax`` times (default 3) between ``retryWaitMin`` and ``retryWaitMax`` seconds,
each attempt bounded by ``timeout`` seconds (default 10). Errors name the service and the
recipient, with secret values scrubbed; they never carry the request's headers or body.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.message
import json
import smtplib
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tidegate.metrics import families as metric_families
from tidegate.model import errors
from tidegate.notify import config as config_mod
from tidegate.notify import exprenv


class DeliveryError(errors.TidegateError):
    """A notification could not be delivered (after its retries, when retryable)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclasses.dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    auth: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class Mail:
    host: str
    port: int
    sender: str
    to: str
    subject: str
    body: str
    html: bool
    username: str = ""
    password: str = ""
    starttls: bool = False


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _json_field(notification: Mapping[str, Any], service: str, field: str) -> Any:
    """A JSON-string field of the template (``slack.attachments``) decoded."""
    text = (notification.get(service) or {}).get(field)
    if not text:
        return None
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise DeliveryError(
            f"template field {service}.{field} is not valid JSON after rendering", retryable=False
        ) from None


def build(
    service: config_mod.Service, notification: Mapping[str, Any], recipient: str
) -> HttpRequest | Mail:
    """The request that delivers ``notification`` to ``recipient`` (pure)."""
    opts = service.options
    message = str(notification.get("message") or "")
    if service.type == "webhook":
        spec = (notification.get("webhook") or {}).get(service.name) or {}
        headers = {str(h.get("name")): str(h.get("value")) for h in opts.get("headers") or []}
        basic = opts.get("basicAuth") or {}
        auth = (str(basic["username"]), str(basic.get("password", ""))) if basic else None
        body = spec.get("body")
        return HttpRequest(
            method=str(spec.get("method") or "GET").upper(),
            url=str(opts["url"]).rstrip("/") + str(spec.get("path") or ""),
            headers=headers,
            body=str(body).encode() if body is not None else None,
            auth=auth,
        )
    if service.type == "slack":
        slack = notification.get("slack") or {}
        payload: dict[str, Any] = {"text": message}
        for field in ("attachments", "blocks"):
            value = _json_field(notification, "slack", field)
            if value is not None:
                payload[field] = value
        if slack.get("username") or opts.get("username"):
            payload["username"] = slack.get("username") or opts.get("username")
        icon = slack.get("icon") or opts.get("icon")
        if icon:
            payload["icon_emoji" if str(icon).startswith(":") else "icon_url"] = icon
        if opts.get("token"):  # the bot token API: chat.postMessage to a channel
            payload["channel"] = recipient
            api = str(opts.get("apiURL") or "https://slack.com/api").rstrip("/")
            return HttpRequest(
                "POST",
                f"{api}/chat.postMessage",
                {
                    "Authorization": f"Bearer {opts['token']}",
                    "Content-Type": "application/json; charset=utf-8",
                },
                _json(payload),
            )
        return HttpRequest(  # an incoming webhook: the channel is the webhook's
            "POST", str(opts["webhookURL"]), {"Content-Type": "application/json"}, _json(payload)
        )
    if service.type == "teams":
        urls = opts.get("recipientUrls") or {}
        if recipient not in urls:
            raise DeliveryError(
                f"teams: no recipientUrls entry for recipient {recipient!r}", retryable=False
            )
        teams = notification.get("teams") or {}
        card: dict[str, Any] = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": teams.get("summary") or teams.get("title") or message[:80],
            "text": teams.get("text") or message,
        }
        if teams.get("title"):
            card["title"] = teams["title"]
        if teams.get("themeColor"):
            card["themeColor"] = teams["themeColor"]
        facts = _json_field(notification, "teams", "facts")
        sections = _json_field(notification, "teams", "sections") or []
        if facts:
            sections = [*sections, {"facts": facts}]
        if sections:
            card["sections"] = sections
        actions = _json_field(notification, "teams", "potentialAction")
        if actions:
            card["potentialAction"] = actions
        return HttpRequest(
            "POST", str(urls[recipient]), {"Content-Type": "application/json"}, _json(card)
        )
    if service.type == "github":
        gh = notification.get("github") or {}
        status = gh.get("status") or {}
        app_repo = str(gh.get("repoURLPath") or "")
        revision = str(gh.get("revisionPath") or "")
        if not app_repo or not revision:
            raise DeliveryError(
                "github: the template needs github.repoURLPath and github.revisionPath",
                retryable=False,
            )
        full = exprenv.full_name_by_repo_url(app_repo)
        api = str(opts.get("apiURL") or "https://api.github.com").rstrip("/")
        body = {
            "state": str(status.get("state") or "success"),
            "context": str(status.get("label") or "continuous-delivery/tidegate"),
            "description": message[:140],
        }
        if status.get("targetURL"):
            body["target_url"] = str(status["targetURL"])
        return HttpRequest(
            "POST",
            f"{api}/repos/{full}/statuses/{revision}",
            {
                "Authorization": f"Bearer {opts['token']}",
                "Accept": "application/vnd.github+json",
                "Content-Type": "application/json",
            },
            _json(body),
        )
    if service.type == "email":
        mail = notification.get("email") or {}
        return Mail(
            host=str(opts["host"]),
            port=int(opts.get("port") or 25),
            sender=str(opts["from"]),
            to=recipient,
            subject=str(mail.get("subject") or ""),
            body=str(mail.get("body") or message),
            html=bool(opts.get("html")),
            username=str(opts.get("username") or ""),
            password=str(opts.get("password") or ""),
            starttls=bool(opts.get("starttls")),
        )
    raise DeliveryError(f"service type {service.type!r} is not supported", retryable=False)


def _send_mail(mail: Mail, timeout: float) -> None:
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = mail.sender, mail.to, mail.subject
    msg.set_content(mail.body, subtype="html" if mail.html else "plain")
    with smtplib.SMTP(mail.host, mail.port, timeout=timeout) as smtp:
        if mail.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if mail.username:
            smtp.login(mail.username, mail.password)
        smtp.send_message(msg)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    retry_max: int = 3
    wait_min: float = 1.0
    wait_max: float = 5.0
    timeout: float = 10.0

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> RetryPolicy:
        def seconds(key: str, default: float) -> float:
            value = options.get(key)
            if value is None:
                return default
            text = str(value).strip()
            factor = 1.0
            for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
                if text.endswith(suffix):
                    text, factor = text[: -len(suffix)], mult
                    break
            try:
                return max(0.0, float(text) * factor)
            except ValueError:
                return default

        return cls(
            retry_max=min(10, max(0, int(options.get("retryMax", 3) or 0))),
            wait_min=seconds("retryWaitMin", 1.0),
            wait_max=seconds("retryWaitMax", 5.0),
            timeout=seconds("timeout", 10.0),
        )

    def wait(self, attempt: int) -> float:
        return float(min(self.wait_max, self.wait_min * (2**attempt)))


class Sender:
    """Delivers notifications over one shared HTTP client."""

    def __init__(
        self,
        *,
        scrub: Callable[[str], str] = lambda s: s,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._http = httpx.AsyncClient(follow_redirects=False)
        self._scrub = scrub
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _attempt(self, req: HttpRequest | Mail, limit: float) -> None:
        timeout = limit
        if isinstance(req, Mail):
            try:
                await asyncio.wait_for(asyncio.to_thread(_send_mail, req, timeout), timeout + 1)
            except (OSError, TimeoutError) as exc:
                raise DeliveryError(f"SMTP {req.host}:{req.port}: {exc}", retryable=True) from None
            except smtplib.SMTPException as exc:
                retryable = not isinstance(exc, smtplib.SMTPRecipientsRefused)
                raise DeliveryError(
                    f"SMTP {req.host}:{req.port}: {exc}", retryable=retryable
                ) from None
            return
        try:
            resp = await self._http.request(
                req.method,
                req.url,
                headers=dict(req.headers),
                content=req.body,
                auth=req.auth,
                timeout=timeout,
            )
        except httpx.TimeoutException:
            raise DeliveryError(
                f"{req.method} {_host(req.url)}: no answer within {timeout:g}s", retryable=True
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"{req.method} {_host(req.url)}: {type(exc).__name__}", retryable=True
            ) from None
        if resp.status_code >= 400:
            retryable = resp.status_code == 429 or resp.status_code >= 500
            raise DeliveryError(
                f"{req.method} {_host(req.url)} answered {resp.status_code}", retryable=retryable
            )
        if "slack.com" in req.url or req.url.endswith("/chat.postMessage"):
            try:
                answer = resp.json()
            except ValueError:
                answer = {}
            if isinstance(answer, dict) and answer.get("ok") is False:
                raise DeliveryError(f"Slack API: {answer.get('error')}", retryable=False)

    async def send(
        self,
        service: config_mod.Service,
        notification: Mapping[str, Any],
        recipient: str,
    ) -> None:
        """Deliver with bounded retries; DeliveryError (scrubbed) when it finally fails."""
        where = f"service {service.name} ({service.type}), recipient {recipient!r}"
        policy = RetryPolicy.of(service.options)
        try:
            req = build(service, notification, recipient)
        except DeliveryError as exc:
            metric_families.NOTIFICATIONS_DELIVERIES.labels(service.type, "failed").inc()
            raise DeliveryError(self._scrub(f"{where}: {exc}"), retryable=False) from None
        attempt = 0
        while True:
            try:
                await self._attempt(req, policy.timeout)
            except DeliveryError as exc:
                if exc.retryable and attempt < policy.retry_max:
                    metric_families.NOTIFICATIONS_RETRIES.labels(service.type).inc()
                    await self._sleep(policy.wait(attempt))
                    attempt += 1
                    continue
                metric_families.NOTIFICATIONS_DELIVERIES.labels(service.type, "failed").inc()
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                raise DeliveryError(
                    self._scrub(f"{where}: {exc}{tries}"), retryable=False
                ) from None
            metric_families.NOTIFICATIONS_DELIVERIES.labels(service.type, "sent").inc()
            return


def _host(url: str) -> str:
    """Scheme, host and port of ``url`` only: paths of webhook URLs may carry tokens."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"
