from __future__ import annotations

import json
from typing import Any

from tidegate.diff import hashing, mask, paths
from tidegate.model import constants


def test_pointer_round_trip_with_escapes() -> None:
    tokens = paths.parse_pointer("/metadata/annotations/a~1b~0c")
    assert tokens == ("metadata", "annotations", "a/b~c")
    assert paths.format_pointer(tokens) == "/metadata/annotations/a~1b~0c"


def test_resolve_turns_indices_into_ints_and_misses_into_none() -> None:
    obj = {"a": [{"b": 1}, {"b": 2}]}
    assert paths.resolve(obj, ("a", "1", "b")) == ("a", 1, "b")
    assert paths.resolve(obj, ("a", "2", "b")) is None
    assert paths.resolve(obj, ("a", "x")) is None


def test_delete_all_removes_list_items_from_the_end() -> None:
    obj: dict[str, Any] = {"a": [0, 1, 2, 3]}
    paths.delete_all(obj, [("a", 1), ("a", 3)])
    assert obj == {"a": [0, 2]}


def test_manifest_hash_is_key_order_independent() -> None:
    a = {"kind": "ConfigMap", "data": {"x": "1", "y": "2"}}
    b = {"data": {"y": "2", "x": "1"}, "kind": "ConfigMap"}
    assert hashing.manifest_hash(a) == hashing.manifest_hash(b)
    assert hashing.manifest_hash(a) != hashing.manifest_hash({**a, "kind": "Secret"})
    key = hashing.dry_run_cache_key(hashing.manifest_hash(a), "42")
    assert key.endswith("@42") and key != hashing.dry_run_cache_key(hashing.manifest_hash(a), "43")


def test_mask_secret_covers_last_applied_annotation() -> None:
    applied = {"apiVersion": "v1", "kind": "Secret", "data": {"token": "c2VjcmV0"}}
    live: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s",
                     "annotations": {constants.ANNOTATION_LAST_APPLIED: json.dumps(applied)}},
        "data": {"token": "c2VjcmV0"},
    }  # fmt: skip
    mask.mask_secrets(live)
    assert "c2VjcmV0" not in json.dumps(live)
    annotation = json.loads(live["metadata"]["annotations"][constants.ANNOTATION_LAST_APPLIED])
    assert annotation["data"]["token"] == live["data"]["token"] == "++++++++"


def test_mask_leaves_other_kinds_alone() -> None:
    cm: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}
    mask.mask_secrets(cm)
    assert cm["data"] == {"a": "b"}
