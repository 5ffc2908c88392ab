"""AppProject ``signatureKeys``: only revisions signed by a listed GnuPG key are compared or
synced (Argo CD's GnuPG verification, legacy "head" mode).

:class:`SignatureGate` is called by :func:`tidegate.controller.compare.render_app` with every
source's resolved revision, before anything is rendered, so the same check guards a refresh
(a failure is a ``ComparisonError`` condition naming the revision, the key or "unsigned", and
the project) and an operation (it fails before anything is applied or pruned). Apps whose
project lists no key cost nothing: neither the ConfigMap nor git is touched.

Keys come from the ConfigMap ``argocd-gpg-keys-cm`` of the control namespace (long key id ->
ASCII-armoured public key), re-read at most every ``reread_seconds`` while some app needs it,
and imported into Tidegate's own GNUPGHOME (:class:`tidegate.sources.signatures.Keyring`) when
its data changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey
from tidegate.sources import gpgstatus, urls
from tidegate.sources import signatures as source_signatures

log = logging.getLogger("tidegate.controller")

GPG_KEYS_CONFIGMAP = "argocd-gpg-keys-cm"

# (repoURL, targetRevision as asked, resolved commit) of one source.
ResolvedSource = tuple[str, str, str]


def required_keys(project: model_project.AppProject | None) -> list[str]:
    """The key ids a project's apps must be signed with (empty: no verification)."""
    if project is None:
        return []
    return [k.key_id for k in project.spec.signature_keys or []]


def describe(checked: source_signatures.Checked, *, project: str, allowed: Sequence[str]) -> str:
    """Why ``checked`` may not sync in ``project`` ("" when it may)."""
    verdict = checked.verdict
    if verdict.signed_by_any(allowed):
        return ""
    where = f"repository {urls.display(checked.repo_url)}: {checked.subject}"
    keys = ", ".join(allowed)
    need = f"project '{project}' requires a GnuPG signature by one of its signatureKeys ({keys})"
    key = verdict.key_id or "unknown key"
    outcome = verdict.outcome
    if outcome is gpgstatus.Outcome.UNSIGNED:
        return f"{where} is unsigned, but {need}"
    if outcome is gpgstatus.Outcome.GOOD:
        return (
            f"{where} has a good signature by key {key}, but key {key} is not allowed in "
            f"project '{project}' (signatureKeys: {keys})"
        )
    if outcome is gpgstatus.Outcome.MISSING_KEY:
        return (
            f"{where} is signed with key {key}, which is not in {GPG_KEYS_CONFIGMAP} (the "
            f"signature cannot be verified); {need}"
        )
    return f"{where}: {outcome.value} (key {key}); {need}"


class SignatureGate:
    """Checks resolved revisions against the app's project; see the module docstring."""

    def __init__(
        self,
        *,
        mgmt: kube_client.KubeClient,
        namespace: str,
        verifier: source_signatures.Verifier,
        project_of: Callable[[str], model_project.AppProject | None],
        reread_seconds: float = 5.0,
    ) -> None:
        self.mgmt = mgmt
        self.namespace = namespace
        self.verifier = verifier
        self.project_of = project_of
        self.reread_seconds = reread_seconds
        self._entries: dict[str, str] | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def verify(self, app: model_app.Application, resolved: Sequence[ResolvedSource]) -> None:
        """Return when the project needs no signature or every source passes; else raise
        SignatureError naming every failing source (nothing must be rendered or synced)."""
        project_name = app.spec.project_name
        allowed = required_keys(self.project_of(project_name))
        if not allowed:
            return
        label = f"Application {app.namespace}/{app.name}"
        for key in allowed:
            try:
                gpgstatus.normalise_key_id(key)
            except errors.SpecError as exc:
                raise errors.SignatureError(
                    f"{label}: project '{project_name}' signatureKeys: {exc}"
                ) from None
        keyring = await self.verifier.keyring.load(
            await self._key_entries(), source=f"ConfigMap {self.namespace}/{GPG_KEYS_CONFIGMAP}"
        )
        problems = []
        for repo_url, revision, commit in resolved:
            checked = await self.verifier.check(keyring, repo_url, revision, commit)
            problem = describe(checked, project=project_name, allowed=allowed)
            if problem:
                problems.append(problem)
        if problems:
            raise errors.SignatureError(f"{label}: " + "; ".join(problems))

    async def _key_entries(self) -> Mapping[str, str]:
        """The ConfigMap's entries, re-read when older than ``reread_seconds``. When the
        management cluster cannot be asked, the last entries read serve (a TemporaryError when
        none were ever read)."""
        async with self._lock:
            if self._entries is not None and time.monotonic() - self._read_at < self.reread_seconds:
                return self._entries
            key = ResourceKey("", "ConfigMap", self.namespace, GPG_KEYS_CONFIGMAP)
            try:
                found: dict[str, Any] | None = await self.mgmt.get_or_none(key)
            except errors.KubeError as exc:
                if self._entries is None:
                    raise errors.TemporaryError(
                        f"cannot read ConfigMap {self.namespace}/{GPG_KEYS_CONFIGMAP}: {exc}"
                    ) from exc
                log.warning("reading %s: %s; using the keys read before", GPG_KEYS_CONFIGMAP, exc)
                return self._entries
            data = (found or {}).get("data") or {}
            self._entries = {str(k): str(v) for k, v in data.items()}
            self._read_at = time.monotonic()
            return self._entries
