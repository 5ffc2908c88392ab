"""gpgstatus (pure): gpg's --status-fd output -> verdicts, key ids, import results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import errors
from tidegate.sources import gpgstatus

CASES = yaml.safe_load((Path(__file__).parent / "testdata" / "gpgstatus.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_parse_status(case: dict[str, Any]) -> None:
    verdict = gpgstatus.parse_status(case["status"])
    assert verdict.outcome.value == case["outcome"]
    assert verdict.key_id == case["key_id"]
    if "key_ids" in case:
        assert list(verdict.key_ids) == case["key_ids"]
    if "signer" in case:
        assert verdict.signatures[0].signer == case["signer"]
    assert verdict.signed_by_any(case["allowed"]) is case["signed_by_allowed"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("60556c64f49fe1b2", "60556C64F49FE1B2"),
        ("0x60556C64F49FE1B2", "60556C64F49FE1B2"),
        ("130F3319CEBF25161CA56B3C60556C64F49FE1B2", "60556C64F49FE1B2"),
        (" 130F 3319 CEBF 2516 1CA5  6B3C 6055 6C64 F49F E1B2 ", "60556C64F49FE1B2"),
    ],
)
def test_normalise_key_id(given: str, expected: str) -> None:
    assert gpgstatus.normalise_key_id(given) == expected


@pytest.mark.parametrize("bad", ["F49FE1B2", "", "not-a-key-id-at-all", "60556C64F49FE1BZ"])
def test_normalise_key_id_refuses_short_or_malformed_ids(bad: str) -> None:
    with pytest.raises(errors.SpecError, match="not a 16-digit key id"):
        gpgstatus.normalise_key_id(bad)


def test_imported_fingerprints_and_colon_records() -> None:
    imported = (
        "[GNUPG:] KEY_CONSIDERED 130F3319CEBF25161CA56B3C60556C64F49FE1B2 0\n"
        "[GNUPG:] IMPORTED 60556C64F49FE1B2 Test Signer <t@example.com>\n"
        "[GNUPG:] IMPORT_OK 1 130F3319CEBF25161CA56B3C60556C64F49FE1B2\n"
        "[GNUPG:] IMPORT_RES 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0\n"
    )
    assert gpgstatus.imported_fingerprints(imported) == ["130F3319CEBF25161CA56B3C60556C64F49FE1B2"]
    assert (
        gpgstatus.imported_fingerprints("[GNUPG:] IMPORT_RES 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n") == []
    )
    colons = (
        "pub:-:3072:1:60556C64F49FE1B2:1796556494:::-:::scESC::::::23::0:\n"
        "fpr:::::::::130F3319CEBF25161CA56B3C60556C64F49FE1B2:\n"
        "uid:-::::1796556494::69CD910EB67FBC0335FBDAB97E7080D81B487C78::Test Signer::::::::::0:\n"
        "sub:-:3072:1:EEF7168E5CC959A4:1796556494::::::e::::::23:\n"
        "fpr:::::::::E5E4B0C08BB43C8A4B95DB37EEF7168E5CC959A4:\n"
    )
    assert gpgstatus.colon_fingerprints(colons) == [
        ("pub", "130F3319CEBF25161CA56B3C60556C64F49FE1B2"),
        ("sub", "E5E4B0C08BB43C8A4B95DB37EEF7168E5CC959A4"),
    ]
