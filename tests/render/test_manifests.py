"""Parsing manifest text: table over testdata/parse_cases.yaml, plus JSON and guard timing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.render.conftest import load_table

from tidegate.model import errors
from tidegate.render import manifests

CASES = load_table("parse_cases.yaml")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_parse_yaml(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(errors.ManifestError) as info:
            manifests.parse_yaml(case["text"], where="app/x.yaml", max_alias_expansion=100_000)
        assert case["error"] in str(info.value)
    else:
        objects = manifests.parse_yaml(case["text"], where="app/x.yaml", max_alias_expansion=10)
        assert objects == case["objects"]


def test_alias_bomb_is_rejected_fast() -> None:
    bomb = next(c["text"] for c in CASES if c["name"].startswith("alias bomb"))
    assert len(bomb) == 342
    started = time.perf_counter()
    with pytest.raises(errors.ManifestError):
        manifests.parse_yaml(bomb, where="x.yaml", max_alias_expansion=100_000)
    assert time.perf_counter() - started < 0.5


def test_alias_expansion_budget_is_configurable() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\na: &a [1, 2, 3]\nb: [*a, *a, *a]\n"
    assert manifests.parse_yaml(text, where="x", max_alias_expansion=100)
    with pytest.raises(errors.ManifestError, match="more than 2 extra nodes"):
        manifests.parse_yaml(text, where="x", max_alias_expansion=2)


def test_parse_json() -> None:
    text = '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "A"}]}'
    assert manifests.parse_json(text, where="x.json") == [{"apiVersion": "v1", "kind": "A"}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"apiVersion": "v1",\n "kind": }', "x.json: invalid JSON at line 2, column 10"),
        ('{"kind": "A"}', "x.json: object has no apiVersion"),
        ("[1]", "x.json: expected a Kubernetes object (a mapping), got int"),
    ],
)
def test_parse_json_errors(text: str, message: str) -> None:
    with pytest.raises(errors.ManifestError) as info:
        manifests.parse_json(text, where="x.json")
    assert message in str(info.value)


def test_decode_rejects_non_utf8() -> None:
    with pytest.raises(errors.ManifestError, match=r"x\.yaml: not UTF-8"):
        manifests.decode(b"\xff\xfe\x00bad", where="x.yaml")
    assert manifests.decode("\ufeffkind: A".encode(), where="x") == "kind: A"
