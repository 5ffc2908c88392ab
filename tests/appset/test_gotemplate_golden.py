"""Tidegate's Go-template engine against Go's own text/template.

``golden/cases.json`` lists (template, data, options) cases; ``golden/golden.json`` is what Go's
``text/template`` renders for each (``golden/main.go``, stdlib only). A case Go renders must render
identically here; a case Go refuses must be refused here (messages differ by design: ours name the
template the ApplicationSet way). Data is decoded as Argo CD decodes generator parameters: every
JSON number is a float64.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
from typing import Any

import pytest

from tidegate.appset import gotemplate
from tidegate.model import errors

GOLDEN_DIR = pathlib.Path(__file__).parent / "golden"
CASES: list[dict[str, Any]] = json.loads((GOLDEN_DIR / "cases.json").read_text(), parse_int=float)
GOLDEN: dict[str, dict[str, Any]] = json.loads((GOLDEN_DIR / "golden.json").read_text())


def test_every_case_has_a_golden_result() -> None:
    assert sorted(c["name"] for c in CASES) == sorted(GOLDEN)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_engine_agrees_with_go(case: dict[str, Any]) -> None:
    templates = gotemplate.Templates(
        missingkey=gotemplate.missingkey_option(case.get("options") or [])
    )
    expected = GOLDEN[case["name"]]
    if expected["error"]:
        with pytest.raises(errors.TemplateError):
            templates.render(case["template"], case["data"])
    else:
        assert templates.render(case["template"], case["data"]) == expected["output"]


@pytest.mark.e2e
def test_golden_file_is_what_go_renders() -> None:
    """Regenerates the golden file with ``go run`` (needs the go toolchain, offline)."""
    go = shutil.which("go")
    assert go is not None, "the go toolchain is needed to regenerate golden.json"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    result = subprocess.run(
        [go, "run", "."],
        cwd=GOLDEN_DIR,
        input=(GOLDEN_DIR / "cases.json").read_bytes(),
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout.decode() == (GOLDEN_DIR / "golden.json").read_text()
