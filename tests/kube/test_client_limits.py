"""Client-side rate limits: Argo CD's ARGOCD_K8S_CLIENT_QPS / _BURST, else Tidegate's defaults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tidegate.kube import config
from tidegate.model import errors


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    config.client_limits.cache_clear()
    yield
    config.client_limits.cache_clear()


def test_defaults_without_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.QPS_ENV, raising=False)
    monkeypatch.delenv(config.BURST_ENV, raising=False)
    made = config.ClusterConfig(server="https://k:6443")
    assert (made.qps, made.burst) == (config.DEFAULT_QPS, config.DEFAULT_BURST)


def test_the_variables_set_every_new_clients_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.QPS_ENV, "50")
    monkeypatch.setenv(config.BURST_ENV, "100")
    made = config.ClusterConfig(server="https://k:6443")
    assert (made.qps, made.burst) == (50.0, 100)
    assert made.with_limits(qps=7).qps == 7  # an explicit limit still wins


@pytest.mark.parametrize("value", ["fast", "0", "-3", "nan", "inf"])
def test_a_value_that_is_not_a_positive_number_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(config.QPS_ENV, value)
    with pytest.raises(errors.ConfigError, match=rf"ARGOCD_K8S_CLIENT_QPS='{value}'"):
        config.ClusterConfig(server="https://k:6443")
