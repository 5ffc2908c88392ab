"""The binary build's progress lines (pure formatting and throttling, no build)."""

from __future__ import annotations

import pytest

from tidegate.testenv import buildprogress as bp


def _step(
    event: bp.Event, *, elapsed: float = 0.0, detail: str = "", index: int = 1
) -> bp.BuildStep:
    return bp.BuildStep(
        event=event,
        index=index,
        total=4,
        component="kubernetes",
        binaries=("kube-apiserver", "kube-controller-manager", "kube-scheduler"),
        left=("etcd", "kwok", "helm"),
        elapsed=elapsed,
        detail=detail,
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (130, "2m10s"), (3599, "59m59s"), (3720, "1h02m")],
)
def test_durations_read_as_minutes_and_seconds(seconds: float, text: str) -> None:
    assert bp.duration(seconds) == text


def test_a_running_step_names_component_elapsed_time_and_what_is_left() -> None:
    line = bp.describe(_step(bp.Event.RUNNING, elapsed=130, detail="k8s.io/apiserver/pkg/server"))
    assert line == (
        "[1/4] kubernetes ... 2m10s elapsed, etcd kwok helm left (at k8s.io/apiserver/pkg/server)"
    )


def test_start_and_end_lines() -> None:
    start = bp.describe(_step(bp.Event.START))
    assert start.startswith("[1/4] kubernetes: building kube-apiserver, kube-controller-manager")
    assert start.endswith("etcd kwok helm left")
    done = bp.describe(_step(bp.Event.DONE, elapsed=400))
    assert done == "[1/4] kubernetes: built in 6m40s; etcd kwok helm left"
    last = bp.BuildStep(bp.Event.DONE, 4, 4, "helm", ("helm",), (), 65.0)
    assert bp.describe(last) == "[4/4] helm: built in 1m05s; nothing left after it"


def test_a_long_detail_keeps_its_end() -> None:
    detail = "k8s.io/kubernetes/" + "x" * 200 + "/pkg/controller/garbagecollector"
    line = bp.describe(_step(bp.Event.RUNNING, detail=detail), detail_width=40)
    assert line.split("(at ", 1)[1] == "..." + detail[-37:] + ")"


def test_plain_lines_at_start_end_and_every_interval() -> None:
    throttle = bp.PlainThrottle(every=20.0)
    running = _step(bp.Event.RUNNING)
    printed = [
        throttle.due(_step(bp.Event.START), now=0.0),
        throttle.due(running, now=0.5),
        throttle.due(running, now=19.5),
        throttle.due(running, now=20.0),
        throttle.due(running, now=30.0),
        throttle.due(running, now=40.5),
        throttle.due(_step(bp.Event.DONE), now=41.0),
    ]
    assert printed == [True, False, False, True, False, True, True]


def test_a_first_running_step_is_printed_without_a_start() -> None:
    assert bp.PlainThrottle().due(_step(bp.Event.RUNNING), now=1000.0)


def test_off_a_terminal_the_cli_prints_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """A CI log (no terminal) gets each message and each start and end as its own line; the
    running steps in between are throttled (here all within a second of the start)."""
    import io

    from rich.console import Console

    from tidegate.cli import testenv as testenv_cmd

    console = Console(file=io.StringIO(), force_terminal=False)
    with testenv_cmd.progress_view(console, "starting") as (say, build):
        say("starting etcd")
        build(_step(bp.Event.START))
        for second in range(3):
            build(_step(bp.Event.RUNNING, elapsed=second, detail="k8s.io/api/core/v1"))
        build(_step(bp.Event.DONE, elapsed=400))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "starting etcd",
        bp.describe(_step(bp.Event.START)),
        "[1/4] kubernetes: built in 6m40s; etcd kwok helm left",
    ]


def test_on_a_terminal_the_status_line_shows_the_same_words() -> None:
    import io

    from rich.console import Console

    from tidegate.cli import testenv as testenv_cmd

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=200)
    with testenv_cmd.progress_view(console, "starting") as (_say, build):
        build(_step(bp.Event.RUNNING, elapsed=130, detail="k8s.io/api/core/v1"))
    assert "[1/4] kubernetes ... 2m10s elapsed, etcd kwok helm left" in screen.getvalue()
