"""A server that accepts connections and never answers: KubeClient.ping reports it within its
bound (and a refused connection too), and a watch stream that stays silent past its idle
timeout ends as unreachable instead of waiting forever."""

from __future__ import annotations

import pytest

from tidegate import kube
from tidegate.kube import config as kube_config
from tidegate.model import errors
from tidegate.testenv import procs
from tidegate.testenv.faultproxy import FaultProxy, Mode


async def test_a_hung_server_is_unreachable_within_the_bound() -> None:
    with FaultProxy(Mode.HANG) as proxy:
        config = kube_config.ClusterConfig(
            server=f"https://127.0.0.1:{proxy.port}", name="hung", insecure=True
        )
        async with kube.client_for(config) as client:
            with pytest.raises(errors.ClusterUnreachableError) as caught:
                await client.ping(within=0.3)
        assert proxy.connections >= 1
    assert "cluster hung" in str(caught.value) and "no answer" in str(caught.value)


async def test_a_refused_connection_is_unreachable() -> None:
    port = procs.free_port()
    config = kube_config.ClusterConfig(server=f"https://127.0.0.1:{port}", name="gone")
    async with kube.client_for(config) as client:
        with pytest.raises(errors.ClusterUnreachableError, match="cluster gone"):
            await client.ping(within=5)


async def test_a_silent_watch_stream_ends_after_its_idle_timeout() -> None:
    with FaultProxy(Mode.TRICKLE, trickle_every=30) as proxy:  # headers, then silence
        config = kube_config.ClusterConfig(server=f"http://127.0.0.1:{proxy.port}", name="mute")
        async with kube.client_for(config) as client:
            lines = client.stream_lines("/api/v1/pods", what="watch pods", idle_timeout=0.3)
            with pytest.raises(errors.ClusterUnreachableError, match="watch pods: cluster mute"):
                async for _line in lines:
                    pass
