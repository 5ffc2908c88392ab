"""Secret values: base64 ``data`` overlaid by ``stringData``; errors name the key, not the value."""

from __future__ import annotations

import pytest

from tidegate.model import errors, secrets

SECRET = {
    "metadata": {"name": "repo-1", "namespace": "argocd"},
    "data": {"url": "aHR0cHM6Ly9naXQuZXhhbXBsZS9y", "password": "c2VjcmV0", "bad": "not base64!"},
    "stringData": {"password": "plain"},
}


def test_fields_lenient_skips_undecodable_values_and_string_data_wins() -> None:
    assert secrets.fields(SECRET, strict=False) == {
        "url": "https://git.example/r",
        "password": "plain",
    }


def test_strict_names_the_secret_and_key_but_not_the_value() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        secrets.fields(SECRET)
    assert str(caught.value) == "Secret argocd/repo-1: data.bad is not valid base64 text"
    assert "not base64!" not in str(caught.value)


def test_value_and_decode() -> None:
    assert secrets.value(SECRET, "url") == "https://git.example/r"
    assert secrets.value(SECRET, "absent") is None
    assert secrets.decode("/w==") is None  # valid base64, not UTF-8 text
