"""Comparison results that survive a restart: signed records of no-op dry-run predictions.

A refresh dry-runs every desired object that exists live (``compare._predict``) and keeps the
answer in memory, keyed by (desired hash, live version). A restarted controller has lost that
memory and would dry-run every object of the fleet again before any status is right. So each
refresh also writes, in the Application's ``status.tidegate.predictions``, one short *digest*
per object whose prediction was a no-op (the server's dry run equals the live object: the object
is Synced as far as the server can tell). The digest is an HMAC of a *fact*::

    <format> | <scope: control namespace, installation id, app instance name>
             | <resource key> | <desired manifest hash> | <live uid> | <live version>

under a key that only the controller holds (the Secret ``tidegate-prediction-key`` in the control
namespace, made at first start). After a restart, a refresh computes the fact of each object it
is about to dry-run; when its digest is in the record, the object's prediction is the live object
itself (it was a no-op for exactly this desired manifest and this live object) and no dry run is
sent. Everything else is dry-run as before. Hence:

- an object changed while the controller was down (new resourceVersion or generation, or
  recreated: new uid) or whose desired manifest changed has another fact: it is dry-run again,
  so a stale record never yields a false Synced;
- a record edited by hand, copied from another app, another installation or another control
  namespace does not verify (the scope and the key are in the MAC): it is ignored, and the
  objects are dry-run;
- the record says nothing about objects that were OutOfSync (their prediction is not live):
  they are dry-run again, which is what they need anyway.

Who can read Secrets in the control namespace can forge a record; they can already read every
cluster credential there. Pure, apart from :func:`load_key` (one GET, maybe one POST).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

log = logging.getLogger("tidegate.controller")

FORMAT = "p1"  # bump when the meaning of a fact changes: older records are then ignored
STATUS_FIELD = "tidegate"  # status.tidegate: Tidegate's own part of the Application status
RECORD_FIELD = "predictions"
KEY_SECRET = "tidegate-prediction-key"
KEY_ENTRY = "hmacKey"
DIGEST_BYTES = 12  # 96 bits: 16 base64 characters per object

Recalled = Callable[[str], bool]


def fact(key: ResourceKey, desired_hash: str, live_uid: str, live_version: str) -> str:
    """What a no-op prediction depends on: the object, the desired manifest, the live object."""
    return f"{key}|{desired_hash}|{live_uid}|{live_version}"


def _never(_fact: str) -> bool:
    return False


@dataclasses.dataclass(frozen=True)
class Ledger:
    """Seals facts into digests and recognises them, under one secret key."""

    key: bytes

    def __repr__(self) -> str:  # the key never appears in logs or errors
        return "Ledger(key=<hidden>)"

    @staticmethod
    def scope(*, control_namespace: str, installation_id: str, app: str) -> str:
        return f"{control_namespace}|{installation_id}|{app}"

    def digest(self, scope: str, one_fact: str) -> str:
        message = f"{FORMAT}\0{scope}\0{one_fact}".encode()
        mac = hmac.new(self.key, message, hashlib.sha256).digest()[:DIGEST_BYTES]
        return base64.urlsafe_b64encode(mac).decode()

    def seal(self, scope: str, facts: Iterable[str]) -> list[str]:
        """The record to write: sorted digests (a stable order, so unchanged = no write)."""
        return sorted({self.digest(scope, f) for f in facts})

    def recall(self, scope: str, status: Mapping[str, Any] | None) -> Recalled:
        """A predicate telling whether a fact is in the app's record (anything malformed: no)."""
        part = (status or {}).get(STATUS_FIELD)
        record = part.get(RECORD_FIELD) if isinstance(part, Mapping) else None
        if not isinstance(record, list) or not record:
            return _never
        known = {d for d in record if isinstance(d, str)}

        def recalled(one_fact: str) -> bool:
            return self.digest(scope, one_fact) in known

        return recalled


def status_patch(digests: list[str]) -> dict[str, Any]:
    """The status part holding the record (None removes it when there is nothing to keep)."""
    return {STATUS_FIELD: {RECORD_FIELD: digests or None}}


def new_key() -> bytes:
    return secrets.token_bytes(32)


def key_secret(namespace: str, key: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": KEY_SECRET,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "tidegate"},
        },
        "type": "Opaque",
        "data": {KEY_ENTRY: base64.b64encode(key).decode()},
    }


def key_of(secret: Mapping[str, Any]) -> bytes | None:
    """The key held by the Secret, or None when it holds none (or too short a one)."""
    raw = (secret.get("data") or {}).get(KEY_ENTRY)
    if not isinstance(raw, str):
        return None
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        return None
    return key if len(key) >= 16 else None


async def load_key(client: kube_client.KubeClient, namespace: str) -> Ledger | None:
    """The ledger of this control namespace: its key read from the Secret, or a new key stored
    there. None (logged) when the Secret cannot be read or written: then nothing is recorded and
    a restart dry-runs every object, as it did before records existed."""
    where = ResourceKey("", "Secret", namespace, KEY_SECRET)
    try:
        found = await client.get_or_none(where)
        if found is None:
            try:
                await client.create(key_secret(namespace, new_key()))
            except errors.KubeError as exc:
                if not kube_client.already_exists(exc):
                    raise
            found = await client.get_or_none(where)  # ours, or the one another replica made
    except errors.KubeError as exc:
        log.warning("Secret %s/%s: %s; comparisons are not kept across restarts",
                    namespace, KEY_SECRET, exc)  # fmt: skip
        return None
    key = key_of(found or {})
    if key is None:
        log.warning("Secret %s/%s holds no usable %s; comparisons are not kept across restarts",
                    namespace, KEY_SECRET, KEY_ENTRY)  # fmt: skip
        return None
    return Ledger(key)
