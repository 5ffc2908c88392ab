"""The installation id: argocd-cm ``installationID`` wins over ``--installation-id``, is settled
before the first refresh and reaches rendering, comparison, the live caches and sync params."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tidegate.controller import argocdcm, engine, settings
from tidegate.kube import config as kube_config
from tidegate.model.keys import ResourceKey

MGMT = kube_config.ClusterConfig(server="https://127.0.0.1:1", name="mgmt")


class FakeMgmt:
    """GETs of the control namespace's argocd-cm / argocd-secret."""

    def __init__(self, data: dict[str, str] | None) -> None:
        self.data = data

    async def get_or_none(self, key: ResourceKey) -> dict[str, Any] | None:
        if key.kind == "ConfigMap" and self.data is not None:
            return {"data": self.data}
        return None


def test_parse_installation_id() -> None:
    assert argocdcm.parse({"installationID": " east "}).installation_id == "east"
    assert argocdcm.parse({}).installation_id == ""


@pytest.mark.parametrize(
    ("flag", "configmap", "expected"),
    [
        ("", None, ""),  # off
        ("flag", None, "flag"),  # no argocd-cm: the flag is the default
        ("flag", {"installationID": "cm"}, "cm"),  # argocd-cm is the source of truth
        ("", {"installationID": "cm"}, "cm"),
        ("flag", {"other": "x"}, "flag"),
    ],
)
def test_the_configmap_wins_over_the_flag(
    flag: str, configmap: dict[str, str] | None, expected: str
) -> None:
    async def go() -> None:
        ctrl = engine.Controller(mgmt=MGMT, settings=settings.Settings(installation_id=flag))
        client = ctrl.mgmt
        try:
            ctrl.config.mgmt = FakeMgmt(configmap)  # type: ignore[assignment]
            await ctrl.config.read(None)
            assert ctrl.installation_id == expected
            assert ctrl.deps.installation_id == expected  # render + comparison targets
            assert ctrl.runtimes.installation_id == expected  # live caches created later
        finally:
            ctrl.scheduler.close()
            await client.aclose()

    asyncio.run(go())


def test_a_change_after_start_needs_a_restart(caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> None:
        ctrl = engine.Controller(mgmt=MGMT, settings=settings.Settings())
        client = ctrl.mgmt
        try:
            ctrl.config.mgmt = FakeMgmt({"installationID": "a"})  # type: ignore[assignment]
            seen = await ctrl.config.read(None)
            ctrl.ready.set()
            ctrl.config.mgmt = FakeMgmt({"installationID": "b"})  # type: ignore[assignment]
            await ctrl.config.read(seen)
            assert (ctrl.installation_id, ctrl.deps.installation_id) == ("a", "a")
            assert ctrl.runtimes.installation_id == "a"
        finally:
            ctrl.scheduler.close()
            await client.aclose()

    asyncio.run(go())
    assert "installationID is now 'b' but this controller runs with 'a'" in caplog.text
