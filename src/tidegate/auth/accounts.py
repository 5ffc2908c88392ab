"""Local accounts as Argo CD defines them. Pure: built from ``argocd-cm`` and ``argocd-secret``.

- ``argocd-cm``: ``accounts.<name>: "apiKey, login"`` (capabilities), ``accounts.<name>.enabled:
  "false"`` disables one, ``admin.enabled: "false"`` disables the built-in ``admin`` (which has
  only ``login``).
- ``argocd-secret``: ``<prefix>.password`` (bcrypt), ``<prefix>.passwordMtime`` (RFC 3339) and
  ``<prefix>.tokens`` (JSON ``[{"id", "iat", "exp"}]``), where the prefix is ``admin`` for admin
  and ``accounts.<name>`` for the others.

:func:`check_claims` decides whether a verified token still stands for an account: it exists,
is enabled, has the token's capability, the token is newer than the password, and an API key's
id is still in the account's token list (deleting the entry revokes it at once).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Mapping

from tidegate.auth import tokens

ADMIN = "admin"
CAPABILITIES = (tokens.LOGIN_CAPABILITY, tokens.API_KEY_CAPABILITY)


@dataclasses.dataclass(frozen=True)
class TokenEntry:
    id: str
    issued_at: int
    expires_at: int = 0  # 0: never

    def json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "iat": self.issued_at}
        if self.expires_at:
            out["exp"] = self.expires_at
        return out


@dataclasses.dataclass(frozen=True)
class Account:
    name: str
    enabled: bool
    capabilities: tuple[str, ...]
    password_hash: str | None = dataclasses.field(default=None, repr=False)
    password_mtime: datetime.datetime | None = None
    tokens: tuple[TokenEntry, ...] = ()

    @property
    def secret_prefix(self) -> str:
        return secret_prefix(self.name)

    def api_json(self) -> dict[str, object]:
        """Argo CD's Account message (no secret in it)."""
        return {
            "name": self.name,
            "enabled": self.enabled,
            "capabilities": list(self.capabilities),
            "tokens": [
                {
                    "id": t.id,
                    "issuedAt": t.issued_at,
                    **({"expiresAt": t.expires_at} if t.expires_at else {}),
                }
                for t in self.tokens
            ],
        }


def secret_prefix(name: str) -> str:
    return ADMIN if name == ADMIN else f"accounts.{name}"


def _mtime(raw: bytes | None) -> datetime.datetime | None:
    if not raw:
        return None
    try:
        return datetime.datetime.fromisoformat(raw.decode().replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_tokens(raw: bytes | None) -> tuple[TokenEntry, ...]:
    """``<prefix>.tokens``; a corrupt value reads as no tokens (every API key refused)."""
    if not raw:
        return ()
    try:
        items = json.loads(raw)
    except ValueError:
        return ()
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            out.append(TokenEntry(item["id"], int(item.get("iat") or 0), int(item.get("exp") or 0)))
    return tuple(out)


def encode_tokens(entries: tuple[TokenEntry, ...] | list[TokenEntry]) -> bytes:
    return json.dumps([e.json() for e in entries], separators=(",", ":")).encode()


def accounts_from(cm: Mapping[str, str], secret: Mapping[str, bytes]) -> dict[str, Account]:
    """Every account ``argocd-cm`` defines, plus ``admin``, with its secret parts."""
    caps: dict[str, tuple[str, ...]] = {ADMIN: (tokens.LOGIN_CAPABILITY,)}
    enabled = {ADMIN: cm.get("admin.enabled", "true").strip().lower() != "false"}
    for key, value in cm.items():
        if not key.startswith("accounts.") or key.count(".") != 1:
            continue
        name = key.removeprefix("accounts.")
        if not name:
            continue
        caps[name] = tuple(c for c in (p.strip() for p in value.split(",")) if c in CAPABILITIES)
        if name != ADMIN:
            flag = cm.get(f"accounts.{name}.enabled", "true").strip().lower()
            enabled[name] = flag != "false"
    found = {}
    for name, capabilities in caps.items():
        prefix = secret_prefix(name)
        hashed = secret.get(f"{prefix}.password")
        found[name] = Account(
            name=name,
            enabled=enabled[name],
            capabilities=capabilities,
            password_hash=hashed.decode() if hashed else None,
            password_mtime=_mtime(secret.get(f"{prefix}.passwordMtime")),
            tokens=parse_tokens(secret.get(f"{prefix}.tokens")),
        )
    return found


def check_claims(account: Account | None, claims: tokens.Claims) -> str | None:
    """Why the token no longer stands for ``account`` (None when it does)."""
    if account is None or not account.enabled:
        return "account not found or disabled"
    if claims.capability not in account.capabilities:
        return f"account {account.name} does not have the {claims.capability} capability"
    mtime = account.password_mtime
    if mtime is not None and claims.issued_at < int(mtime.timestamp()):
        return "token was issued before the account's password changed"
    if claims.capability == tokens.API_KEY_CAPABILITY and not any(
        t.id == claims.token_id for t in account.tokens
    ):
        return "token has been revoked"
    return None
