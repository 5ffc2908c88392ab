"""What ``when`` and ``oncePer`` expressions see: ``app``, ``appProject``, ``context`` and the
``time``, ``strings`` and ``repo`` helpers argocd-notifications documents (pure).

Go's time API is mirrored where the documented conditions use it: ``time.Now()``,
``time.Parse(s)`` (RFC 3339), durations ``time.Second`` ... ``time.Hour`` as integer nanoseconds
(so ``5 * time.Minute`` is plain arithmetic), and on a time value ``Add``, ``Sub``, ``Before``,
``After``, ``Equal``, ``Unix``, ``Format``; on a duration ``Seconds``, ``Minutes``, ``Hours``.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from tidegate import expr

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE


class Duration(int):
    """Go's ``time.Duration``: integer nanoseconds."""

    __expr_members__ = ("Seconds", "Minutes", "Hours", "Milliseconds", "String")

    def Seconds(self) -> float:
        return int(self) / SECOND

    def Minutes(self) -> float:
        return int(self) / MINUTE

    def Hours(self) -> float:
        return int(self) / HOUR

    def Milliseconds(self) -> int:
        return int(self) // MILLISECOND

    def String(self) -> str:
        return f"{self.Seconds():g}s"


class GoTime:
    """A point in time with Go's ``time.Time`` methods."""

    __expr_members__ = ("Add", "Sub", "Before", "After", "Equal", "Unix", "Format", "IsZero")

    def __init__(self, value: dt.datetime) -> None:
        self.value = value

    def Add(self, duration: int) -> GoTime:
        return GoTime(self.value + dt.timedelta(microseconds=int(duration) / MICROSECOND))

    def Sub(self, other: GoTime) -> Duration:
        return Duration(int((self.value - _time(other).value).total_seconds() * SECOND))

    def Before(self, other: GoTime) -> bool:
        return self.value < _time(other).value

    def After(self, other: GoTime) -> bool:
        return self.value > _time(other).value

    def Equal(self, other: GoTime) -> bool:
        return self.value == _time(other).value

    def Unix(self) -> int:
        return int(self.value.timestamp())

    def IsZero(self) -> bool:
        return self.value == ZERO

    def Format(self, layout: str) -> str:
        return self.value.strftime("%Y-%m-%dT%H:%M:%SZ")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


ZERO = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


def _time(value: object) -> GoTime:
    if not isinstance(value, GoTime):
        raise expr.ExprError(f"expected a time, got {type(value).__name__}")
    return value


def parse_time(value: object) -> GoTime:
    """``time.Parse``: an RFC 3339 timestamp (nil or "" is Go's zero time)."""
    if value is None or value == "":
        return GoTime(ZERO)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise expr.ExprError(f"time.Parse: {value!r} is not an RFC 3339 time") from None
    return GoTime(parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC))


class TimeNamespace:
    __expr_members__ = (
        "Now",
        "Parse",
        "Nanosecond",
        "Microsecond",
        "Millisecond",
        "Second",
        "Minute",
        "Hour",
    )
    Nanosecond = Duration(NANOSECOND)
    Microsecond = Duration(MICROSECOND)
    Millisecond = Duration(MILLISECOND)
    Second = Duration(SECOND)
    Minute = Duration(MINUTE)
    Hour = Duration(HOUR)

    def __init__(self, now: Callable[[], dt.datetime]) -> None:
        self._now = now

    def Now(self) -> GoTime:
        return GoTime(self._now())

    def Parse(self, value: object) -> GoTime:
        return parse_time(value)


class StringsNamespace:
    __expr_members__ = ("ReplaceAll", "ToUpper", "ToLower", "HasPrefix", "HasSuffix", "Contains")

    @staticmethod
    def ReplaceAll(s: str, old: str, new: str) -> str:
        return str(s).replace(str(old), str(new))

    @staticmethod
    def ToUpper(s: str) -> str:
        return str(s).upper()

    @staticmethod
    def ToLower(s: str) -> str:
        return str(s).lower()

    @staticmethod
    def HasPrefix(s: str, prefix: str) -> bool:
        return str(s).startswith(str(prefix))

    @staticmethod
    def HasSuffix(s: str, suffix: str) -> bool:
        return str(s).endswith(str(suffix))

    @staticmethod
    def Contains(s: str, sub: str) -> bool:
        return str(sub) in str(s)


_SCP = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")


def repo_url_to_https(url: str) -> str:
    """``git@github.com:org/repo.git`` and ``ssh://...`` as ``https://github.com/org/repo``."""
    url = str(url).strip()
    scp = _SCP.match(url)
    if scp:
        url = f"https://{scp.group(1)}/{scp.group(2)}"
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    return f"https://{host}{parsed.path}".removesuffix(".git")


def full_name_by_repo_url(url: str) -> str:
    """``org/repo`` of a repository URL."""
    return urllib.parse.urlsplit(repo_url_to_https(url)).path.strip("/")


class RepoNamespace:
    __expr_members__ = ("RepoURLToHTTPS", "FullNameByRepoURL", "QueryEscape")

    @staticmethod
    def RepoURLToHTTPS(url: str) -> str:
        return repo_url_to_https(url)

    @staticmethod
    def FullNameByRepoURL(url: str) -> str:
        return full_name_by_repo_url(url)

    @staticmethod
    def QueryEscape(s: str) -> str:
        return urllib.parse.quote_plus(str(s))


NAMES = frozenset({"app", "appProject", "context", "time", "strings", "repo"})


def environment(
    app: Mapping[str, Any],
    *,
    project: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> dict[str, Any]:
    if not app.get("status"):  # a new app has no status yet: conditions read it as empty
        app = {**app, "status": {}}
    return {
        "app": app,
        "appProject": project or {},
        "context": context,
        "time": TimeNamespace(now),
        "strings": StringsNamespace(),
        "repo": RepoNamespace(),
    }


def compile_condition(source: str) -> expr.Program:
    """Compile a ``when`` or ``oncePer`` expression; ExprError outside the subset."""
    return expr.compile(source, names=NAMES)
