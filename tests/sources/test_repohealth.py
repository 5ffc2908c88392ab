"""Repository health records, their messages, git limits and the git command line (pure)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.sources import gitcmd, repohealth
from tidegate.sources.credentials import RepoCredentials
from tidegate.sources.repohealth import RepoHealth, Stamp

REPO = "https://git.example.com/org/app"


def at(seconds: float) -> Stamp:
    return Stamp(monotonic=seconds, wall=1_700_000_000 + seconds)


def test_a_run_of_failures_counts_from_the_first_attempt_and_a_success_clears_it() -> None:
    health = RepoHealth(repo=REPO)
    health = repohealth.started(health, "git fetch", at(10))
    assert health.operation == "git fetch" and health.operation_age(25) == 15
    health = repohealth.failed(health, f"repository {REPO}: git fetch timed out after 30s", at(40))
    health = repohealth.started(health, "git fetch", at(42))
    health = repohealth.failed(health, f"repository {REPO}: connection refused: x", at(43))

    assert health.failing and health.consecutive_failures == 2
    assert health.failing_since == at(10)  # when the server stopped answering
    assert health.last_failure == at(43)
    assert health.last_error == f"repository {REPO}: connection refused: x"
    assert health.operation is None and health.operation_age(50) is None
    assert health.unanswered_for(140) == 130

    health = repohealth.started(health, "git fetch", at(150))
    health = repohealth.succeeded(health, at(151))
    assert health == RepoHealth(repo=REPO, last_success=at(151))
    assert health.unanswered_for(200) is None


def test_a_cancelled_operation_leaves_no_verdict() -> None:
    health = repohealth.started(RepoHealth(repo=REPO, last_success=at(1)), "git fetch", at(5))
    assert repohealth.abandoned(health) == RepoHealth(repo=REPO, last_success=at(1))


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 0.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (5000, 60.0)]
)
def test_retry_delay_doubles_up_to_a_minute(failures: int, delay: float) -> None:
    health = RepoHealth(repo=REPO, consecutive_failures=failures, last_failure=at(100))
    assert repohealth.retry_delay(health) == delay
    assert repohealth.retry_due(health, 100 + delay)
    assert repohealth.retry_due(health, 100 + delay - 0.5) is (delay == 0)


def test_condition_message_names_the_repository_the_silence_and_the_last_target() -> None:
    health = RepoHealth(
        repo=REPO,
        failing_since=at(0),
        last_failure=at(30),
        last_error=f"repository {REPO}: git fetch timed out after 30s (no answer)",
        consecutive_failures=1,
    )
    assert repohealth.condition_message(health, now=130, last_commit="abc123def4567890") == (
        f"repository {REPO} has not answered for 2m10s (git fetch timed out after 30s "
        "(no answer)); showing the last rendered target of commit abc123def456"
    )
    running = repohealth.started(
        repohealth.failed(health, f"repository {REPO} revision 'v1': x", at(60)),
        "git fetch",
        at(70),
    )
    assert repohealth.condition_message(running, now=75) == (
        f"repository {REPO} has not answered for 1m15s (x; 2 attempts; retry running for 5s)"
    )
    assert repohealth.condition_message(RepoHealth(repo=REPO, last_success=at(1)), now=5) is None


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (f"repository {REPO}: connection refused: boom", "connection refused: boom"),
        (f"repository {REPO} revision 'main': not found", "not found"),
        ("something else: entirely", "something else: entirely"),
        (f"repository {REPO}/other: x", f"repository {REPO}/other: x"),
    ],
)
def test_problem_drops_the_repository_prefix_only(error: str, problem: str) -> None:
    assert repohealth.problem(error, REPO) == problem


@pytest.mark.parametrize(
    "bad",
    [
        {"deadline": 0},
        {"low_speed_time": 0},
        {"max_processes": 0},
        {"connect_timeout": -1},
        {"low_speed_limit": -1},
        {"server_alive_count_max": 0},
    ],
)
def test_git_limits_refuse_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(errors.ConfigError, match="git limits"):
        gitcmd.GitLimits(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["fetch", "--quiet", "origin"], "fetch"),
        (["-c", "fetch.negotiationAlgorithm=noop", "fetch", "--stdin"], "fetch"),
        (["ls-remote", "--quiet", "u", "HEAD"], "ls-remote"),
        (["--version"], "command"),
    ],
)
def test_command_name(args: list[str], name: str) -> None:
    assert gitcmd.command_name(args) == name


def test_every_git_command_carries_the_timeouts(tmp_path: Path) -> None:
    limits = gitcmd.GitLimits(connect_timeout=7, low_speed_limit=500, low_speed_time=9)
    runner = gitcmd.GitRunner(state_dir=tmp_path / "state", limits=limits)
    creds = RepoCredentials(ssh_private_key="KEY", known_hosts="host ssh-ed25519 AAAA")
    with runner._environment(creds, "ssh://git@h/r") as env:
        config = {
            env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"]
            for i in range(int(env["GIT_CONFIG_COUNT"]))
        }
        ssh = shlex.split(env["GIT_SSH_COMMAND"])
    assert config["http.lowSpeedLimit"] == "500" and config["http.lowSpeedTime"] == "9"
    for option in (
        "ConnectTimeout=7",
        "ServerAliveInterval=5",
        "ServerAliveCountMax=3",
        "BatchMode=yes",
        "StrictHostKeyChecking=yes",
        "IdentitiesOnly=yes",
    ):
        assert option in ssh
    assert any(o.startswith("UserKnownHostsFile=") for o in ssh)
    assert gitcmd.GitRunner(state_dir=tmp_path / "s2", timeout=12).limits.deadline == 12
