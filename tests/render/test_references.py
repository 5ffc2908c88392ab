"""Pure classification of kustomization and Helm references (tables), no I/O."""

from __future__ import annotations

from typing import Any

import pytest
from tests.render.conftest import load_table

from tidegate.model import errors
from tidegate.render import references

CASES = load_table("reference_cases.yaml")


@pytest.mark.parametrize("case", CASES, ids=[c["entry"] for c in CASES])
def test_classify_directory(case: dict[str, Any]) -> None:
    what = "app a: k.yaml: resources[0]"
    if "refused" in case:
        with pytest.raises(errors.ReferenceRefusedError) as caught:
            references.classify_directory(case["entry"], what=what)
        message = str(caught.value)
        assert message.startswith(what) and case["refused"] in message
        assert "hunter2" not in message
        return
    found = references.classify_directory(case["entry"], what=what)
    if "local" in case:
        assert found == case["local"]
    else:
        assert found == references.Remote(*case["remote"])


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ("https://example.com/patch.yaml", "URLs are refused where a file is expected"),
        ("file:///etc/passwd", "file:// URLs are refused"),
        ("/etc/passwd", "absolute paths are refused"),
        ("a\0b", "NUL bytes are refused"),
    ],
)
def test_classify_file_refusals(entry: str, rule: str) -> None:
    with pytest.raises(errors.ReferenceRefusedError, match=rule):
        references.classify_file(entry, what="k.yaml: patches[0].path")


def test_classify_file_keeps_local_paths() -> None:
    assert references.classify_file("patches/x.yaml", what="w") == "patches/x.yaml"


def test_classify_value_file() -> None:
    assert references.classify_value_file("values-prod.yaml", what="w") is None
    assert references.classify_value_file("$values/prod.yaml", what="w") is None
    found = references.classify_value_file("https://h/org/vals.git//prod.yaml?ref=v1", what="w")
    assert found == references.Remote("https://h/org/vals.git", "prod.yaml", "v1")
    with pytest.raises(errors.ReferenceRefusedError, match="file:// URLs are refused"):
        references.classify_value_file("file:///etc/shadow", what="w")
    with pytest.raises(errors.ReferenceRefusedError, match="where the repository ends"):
        references.classify_value_file("https://raw.example.com/values.yaml", what="w")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("", ("name", "")),
        ("@stable", ("name", "@stable")),
        ("file://../common", ("local", "../common")),
        ("https://charts.example.com", ("remote", "https://charts.example.com")),
        ("oci://registry.example.com/charts", ("remote", "oci://registry.example.com/charts")),
    ],
)
def test_classify_chart_repository(entry: str, expected: tuple[str, str]) -> None:
    assert references.classify_chart_repository(entry, what="w") == expected


@pytest.mark.parametrize("entry", ["file:///srv/charts/x", "ftp://h/x", "charts/x"])
def test_classify_chart_repository_refusals(entry: str) -> None:
    with pytest.raises(errors.ReferenceRefusedError):
        references.classify_chart_repository(entry, what="w")
