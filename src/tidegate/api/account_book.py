"""The accounts of the control namespace: ``argocd-cm`` and ``argocd-secret`` read together
(through a one-second cache, dropped on every write of this server) and written back.

Writes go to ``argocd-secret`` as a merge patch based on the version read, so two servers (or a
server and ``kubectl``) changing a token list at once cannot lose each other's entries: the
later one gets a conflict and re-reads.
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from tidegate.api import bootstrap, errors
from tidegate.api import settings as settings_api
from tidegate.auth import accounts
from tidegate.model import errors as tg_errors

if TYPE_CHECKING:
    from tidegate.api import context

REFRESH_SECONDS = 1.0


@dataclasses.dataclass(frozen=True)
class Book:
    accounts: dict[str, accounts.Account]
    signing_key: bytes = dataclasses.field(repr=False)
    cm: dict[str, str]

    def __repr__(self) -> str:
        return f"Book(accounts={sorted(self.accounts)})"


class AccountBook:
    def __init__(self) -> None:
        self._cached: Book | None = None
        self._read_at = 0.0

    async def load(self, ctx: context.ServerContext) -> Book:
        if self._cached is None or time.monotonic() - self._read_at > REFRESH_SECONDS:
            cm = await settings_api.argocd_cm(ctx)
            data = bootstrap._decode(await ctx.secrets.read(bootstrap.ARGOCD_SECRET))
            self._cached = Book(
                accounts.accounts_from(cm, data), data.get(bootstrap.KEY_SECRET_KEY, b""), cm
            )
            self._read_at = time.monotonic()
        return self._cached

    def forget(self) -> None:
        self._cached = None

    async def update_secret(
        self,
        ctx: context.ServerContext,
        change: Callable[[Mapping[str, bytes]], Mapping[str, bytes]],
    ) -> None:
        """Write the keys ``change`` returns (given the current data), retrying on conflict."""
        for _ in range(5):
            secret = await ctx.secrets.read(bootstrap.ARGOCD_SECRET)
            if secret is None:
                raise errors.ApiError(503, "argocd-secret is missing; restart the server")
            add = change(bootstrap._decode(secret))
            patch = {
                "metadata": {"resourceVersion": secret["metadata"]["resourceVersion"]},
                "data": {k: base64.b64encode(v).decode() for k, v in add.items()},
            }
            try:
                await ctx.client.patch(ctx.secrets._key(bootstrap.ARGOCD_SECRET), patch)
            except tg_errors.KubeConflictError:
                continue
            finally:
                self.forget()
                ctx.secrets.forget()
            return
        raise errors.ApiError(409, "argocd-secret kept changing; try again", grpc_code=10)
