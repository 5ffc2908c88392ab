"""The subprocess runner: deadlines, bounded output, error messages."""

from __future__ import annotations

import pytest

from tidegate.model import errors
from tidegate.render import process


def test_stderr_message_replaces_paths_and_keeps_the_tail() -> None:
    long = ("x" * 3000 + "\nError: in /tmp/work/repo/app/file.yaml").encode()
    message = process.stderr_message(long, {"/tmp/work/repo": "<repo>"})
    assert message.startswith("...")
    assert message.endswith("Error: in <repo>/app/file.yaml")
    assert len(message) <= 2003
    assert process.stderr_message(b"  \n", {}) == "(no error output)"


async def test_success_returns_stdout() -> None:
    out = await process.run(
        ["sh", "-c", "echo hello; echo noise >&2"],
        what="t",
        time_limit=10,
        max_stdout=100,
        max_stderr=100,
    )
    assert out == b"hello\n"


async def test_failure_carries_exit_code_and_stderr() -> None:
    with pytest.raises(errors.RenderError, match="t: failed with exit code 3: bad thing"):
        await process.run(
            ["sh", "-c", "echo bad thing >&2; exit 3"],
            what="t",
            time_limit=10,
            max_stdout=100,
            max_stderr=100,
        )


async def test_missing_binary() -> None:
    with pytest.raises(errors.RenderError, match="t: cannot start '/nonexistent/helm'"):
        await process.run(
            ["/nonexistent/helm"], what="t", time_limit=10, max_stdout=100, max_stderr=100
        )


async def test_stdout_closed_early_but_process_lingers_hits_the_deadline() -> None:
    with pytest.raises(errors.RenderTimeoutError):
        await process.run(
            ["sh", "-c", "exec >&-; sleep 30"],
            what="t",
            time_limit=0.5,
            max_stdout=100,
            max_stderr=100,
        )
