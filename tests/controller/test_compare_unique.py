"""Two objects with one key are an error naming the app and the key; hooks made with
``generateName`` are keyed by it, so a PreSync and a PostSync hook of one kind are two."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.controller import compare
from tidegate.model import errors

LABEL = "Application tg/web"


def _cm(name: str = "", generate: str = "", hook: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name} if name else {"generateName": generate}
    if hook:
        meta["annotations"] = {"argocd.argoproj.io/hook": hook}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def test_generate_name_hooks_of_one_kind_are_distinct() -> None:
    compare.check_unique(
        LABEL, [_cm("settings"), _cm(generate="pre-", hook="PreSync"),
                _cm(generate="post-", hook="PostSync")]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("objs", "key"),
    [
        ([_cm("settings"), _cm("settings")], "ConfigMap settings"),
        ([_cm(generate="pre-", hook="PreSync"), _cm(generate="pre-", hook="PostSync")],
         "ConfigMap pre-"),
    ],
)  # fmt: skip
def test_a_repeated_key_is_an_error_naming_it(objs: list[dict[str, Any]], key: str) -> None:
    with pytest.raises(errors.SpecError) as caught:
        compare.check_unique(LABEL, objs)
    message = str(caught.value)
    assert message.startswith(f"{LABEL}: ") and message.endswith(" is defined more than once")
    assert all(part in message for part in key.split())
