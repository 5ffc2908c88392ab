"""Table-driven tests of the Go template interpreter (testdata/gotemplate.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.appset import gotemplate
from tidegate.model import errors

from . import support

CASES = support.cases("gotemplate.yaml")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_gotemplate(case: dict[str, Any]) -> None:
    mode = gotemplate.missingkey_option([f"missingkey={case.get('missingkey', 'default')}"])
    templates = gotemplate.Templates(missingkey=mode)
    if "error" in case:
        with pytest.raises(errors.TemplateError) as info:
            templates.render(case["template"], case["data"])
        assert case["error"] in str(info.value)
        return
    assert templates.render(case["template"], case["data"]) == case["output"]


def test_parsed_once_per_distinct_template() -> None:
    templates = gotemplate.Templates()
    first = templates.compile("{{ .a }}")
    assert templates.compile("{{ .a }}") is first


@pytest.mark.parametrize(
    ("options", "mode"),
    [
        ([], gotemplate.MissingKey.DEFAULT),
        (["missingkey=error"], gotemplate.MissingKey.ERROR),
        (["missingkey=invalid"], gotemplate.MissingKey.DEFAULT),
        (["missingkey=zero"], gotemplate.MissingKey.DEFAULT),
    ],
)
def test_missingkey_options(options: list[str], mode: gotemplate.MissingKey) -> None:
    assert gotemplate.missingkey_option(options) is mode


def test_unknown_option_is_an_error() -> None:
    with pytest.raises(errors.TemplateError, match="unknown option 'strict'"):
        gotemplate.missingkey_option(["strict"])
