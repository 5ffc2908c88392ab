"""``tidegate.kube``'s names are imported on first use (kube/__init__.py), and each resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tidegate.kube as kube


def test_every_public_name_resolves_from_its_module() -> None:
    assert sorted(kube.__all__) == sorted(kube._WHERE)
    for name in kube.__all__:
        value = getattr(kube, name)
        assert value.__module__ == f"tidegate.kube.{kube._WHERE[name]}", name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kube.nope  # noqa: B018


def test_one_client_imports_neither_apply_nor_watch() -> None:
    probe = (
        "import sys\n"
        "from tidegate.kube import client\n"
        "print(sorted(m for m in sys.modules if m in "
        "('tidegate.kube.apply', 'tidegate.kube.watch', 'tidegate.kube.clients')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"
