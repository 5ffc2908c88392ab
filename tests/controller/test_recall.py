"""Records of no-op predictions (controller/recall.py): what verifies, and what never does."""

from __future__ import annotations

import base64

from tidegate.controller import recall
from tidegate.model.keys import ResourceKey

KEY = ResourceKey("", "ConfigMap", "shop", "settings")
SCOPE = recall.Ledger.scope(control_namespace="argocd", installation_id="", app="web")
FACT = recall.fact(KEY, "d1", "uid-1", "42")


def _status(ledger: recall.Ledger, scope: str, *facts: str) -> dict[str, object]:
    return recall.status_patch(ledger.seal(scope, facts))


def test_a_sealed_fact_is_recalled_and_nothing_else() -> None:
    ledger = recall.Ledger(b"k" * 32)
    recalled = ledger.recall(SCOPE, _status(ledger, SCOPE, FACT))
    assert recalled(FACT)
    # Another live version, uid, desired manifest or object: another fact, not recalled.
    assert not recalled(recall.fact(KEY, "d1", "uid-1", "43"))
    assert not recalled(recall.fact(KEY, "d1", "uid-2", "42"))
    assert not recalled(recall.fact(KEY, "d2", "uid-1", "42"))
    assert not recalled(recall.fact(KEY._replace(name="other"), "d1", "uid-1", "42"))


def test_a_record_of_another_app_installation_or_key_is_not_trusted() -> None:
    ledger = recall.Ledger(b"k" * 32)
    for scope in (
        recall.Ledger.scope(control_namespace="argocd", installation_id="", app="api"),
        recall.Ledger.scope(control_namespace="argocd", installation_id="blue", app="web"),
        recall.Ledger.scope(control_namespace="team", installation_id="", app="web"),
    ):
        foreign = _status(ledger, scope, FACT)
        assert not ledger.recall(SCOPE, foreign)(FACT), scope
    forged = _status(recall.Ledger(b"x" * 32), SCOPE, FACT)  # sealed under another key
    assert not ledger.recall(SCOPE, forged)(FACT)


def test_a_tampered_or_malformed_record_recalls_nothing() -> None:
    ledger = recall.Ledger(b"k" * 32)
    (digest,) = ledger.seal(SCOPE, [FACT])
    flipped = ("A" if digest[0] != "A" else "B") + digest[1:]
    for status in (
        {"tidegate": {"predictions": [flipped]}},
        {"tidegate": {"predictions": digest}},  # a string, not a list
        {"tidegate": {"predictions": [7, None]}},
        {"tidegate": "x"},
        {},
        None,
    ):
        assert not ledger.recall(SCOPE, status)(FACT), status


def test_the_record_is_stable_and_small() -> None:
    ledger = recall.Ledger(b"k" * 32)
    facts = [recall.fact(KEY._replace(name=f"cm-{i}"), "d", f"u{i}", "1") for i in range(10)]
    first, second = ledger.seal(SCOPE, facts), ledger.seal(SCOPE, reversed(facts))
    assert first == second == sorted(first)
    assert all(len(d) == 16 for d in first)
    assert recall.status_patch([]) == {"tidegate": {"predictions": None}}


def test_the_key_secret_round_trips_and_is_never_shown() -> None:
    key = recall.new_key()
    assert recall.key_of(recall.key_secret("argocd", key)) == key
    assert recall.key_of({"data": {"hmacKey": base64.b64encode(b"short").decode()}}) is None
    assert recall.key_of({"data": {"hmacKey": "not base64!"}}) is None
    assert recall.key_of({}) is None
    assert base64.b64encode(key).decode() not in repr(recall.Ledger(key))
