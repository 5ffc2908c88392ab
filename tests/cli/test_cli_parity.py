"""argocd CLI parity: the coverage of argocd's commands and flags is pinned (a command or flag
Tidegate has cannot silently disappear, and the gap list in ``cli.parity`` cannot go stale),
deliberately unsupported flags are accepted with a notice, unknown flags get the closest
flag, argocd's included."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tidegate.cli import main, parity

DATA = Path(__file__).parent / "testdata"


def _reference() -> tuple[list[str], list[tuple[str, str]]]:
    commands = [ln.strip() for ln in (DATA / "argocd-cli-commands.txt").read_text().splitlines()]
    flags = []
    for line in (DATA / "argocd-cli-flags.txt").read_text().splitlines():
        cmd, _, flag = line.partition("\t")
        flags.append((cmd, flag))
    return [c for c in commands if c], flags


def test_argocd_coverage_is_pinned() -> None:
    commands, flags = _reference()
    report = parity.coverage(commands, flags, main.command_tree())
    (cmds, cmd_total), (have, flag_total) = report["commands"], report["flags"]  # type: ignore[misc]
    print(f"argocd coverage: commands {cmds}/{cmd_total}, flags {have}/{flag_total}, "
          f"deliberately unsupported {report['unsupported']}")  # fmt: skip
    assert (cmd_total, flag_total) == (97, 576)
    assert report["lost_commands"] == [], "argocd commands tidegate lost (or unlisted)"
    assert report["lost_flags"] == [], "argocd flags tidegate lost (or unlisted)"
    assert report["stale"] == [], "implemented: delete these lines from parity.NOT_YET_TEXT"


def test_gap_lines_are_argocd_commands_and_flags() -> None:
    commands, flags = _reference()
    missing_cmds, missing_flags = parity.not_yet()
    assert missing_cmds <= set(commands)
    listed = {(c, f) for c, fs in missing_flags.items() for f in fs} | set(parity.UNSUPPORTED)
    assert listed <= set(flags)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main.app, list(args))
    text = result.output.replace("│", " ").replace("╭", " ").replace("╰", " ").replace("─", " ")
    return result.exit_code, " ".join(text.split())


def test_unsupported_flag_is_accepted_with_a_notice() -> None:
    code, out = _run("app", "wait", "guestbook", "--hydrated", "--help")
    assert code == 0, out
    assert "--hydrated (argocd app wait) is not supported by tidegate" in out
    assert "source hydrator" in out


@pytest.mark.parametrize(
    "args",
    [
        ["repo", "add", "https://g/r", "--proxy", "http://p", "--name", "r"],
        ["repo", "add", "https://g/r", "--proxy=http://p", "--name", "r"],
        ["repocreds", "add", "https://g", "--use-azure-workload-identity", "--name", "r"],
    ],
)
def test_strip_unsupported_drops_the_flag_and_its_value(args: list[str]) -> None:
    kept, notices = parity.strip_unsupported(args)
    assert kept == [*args[:3], "--name", "r"]
    assert len(notices) == 1 and "is not supported by tidegate" in notices[0]


def test_strip_unsupported_leaves_other_commands_alone() -> None:
    args = ["app", "create", "x", "--proxy", "y"]
    assert parity.strip_unsupported(args) == (args, [])


def test_unknown_flag_names_the_closest_tidegate_flag() -> None:
    code, out = _run("app", "sync", "guestbook", "--prun")
    assert code == 2
    assert "No such option: --prun. Did you mean --prune?" in out


def test_argocd_flag_not_implemented_yet_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    # A gap of its own, so that the test outlives the list's real lines being implemented.
    monkeypatch.setattr(parity, "NOT_YET_TEXT", "app create\t--frobnicate-the-widgets\n")
    code, out = _run("app", "create", "x", "--frobnicate-the-widget")
    assert code == 2
    assert (
        "Did you mean --frobnicate-the-widgets (argocd's, not implemented by tidegate yet)" in out
    )
    code, out = _run("app", "create", "x", "--frobnicate-the-widgets")
    assert code == 2
    assert "It is argocd's flag of 'app create', not implemented by tidegate yet" in out


def test_unknown_flag_without_a_close_match() -> None:
    code, out = _run("app", "sync", "guestbook", "--zzzzzz")
    assert code == 2
    assert "No such option: --zzzzzz" in out and "Did you mean" not in out
