"""The README's "A short tour", run as written: every command of its shell block, in order, in one
bash, from the root of the clone, on a test bed of its own.

Only what the README says to substitute is substituted: ``PORT`` and the ``...`` password, read
from ``git.json`` right after ``tidegate testenv up``. ``HOME`` is a temporary directory, so the
test bed's default directory (``~/.local/state/tidegate/testenv``, which the README exports) is
the test's own; the binary cache stays the user's (``XDG_CACHE_HOME``), so nothing is rebuilt.
Each command must exit 0; the first that does not fails the test with its output.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from tidegate.testenv import testbed

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TOUR_TIMEOUT = 420.0
GIT_JSON = "~/.local/state/tidegate/testenv/git/git.json"


def tour_commands(readme: str) -> list[str]:
    """The commands of the first ``sh`` block after "## A short tour" (continuations joined)."""
    section = readme.split("## A short tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "README: no ```sh block under '## A short tour'"
    commands: list[str] = []
    pending = ""
    for line in block.group(1).splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def substitute(command: str) -> str:
    """The README's placeholders: the git server's PORT and password (``--password ...``)."""
    return command.replace("127.0.0.1:PORT", "127.0.0.1:${TOUR_PORT}").replace(
        "--password ...", '--password "${TOUR_PASSWORD}"'
    )


def script(commands: list[str]) -> str:
    read_git = f"{shlex.quote(sys.executable)} -c " + shlex.quote(
        "import json, os, shlex; "
        f"d = json.load(open(os.path.expanduser({GIT_JSON!r}))); "
        "print('TOUR_PORT=' + d['http_base'].rsplit(':', 1)[1]); "
        "print('TOUR_PASSWORD=' + shlex.quote(d['password']))"
    )
    lines = [
        "set -u -o pipefail",
        "trap 'exit 143' TERM INT",
        "trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT",
        f"cd {shlex.quote(str(ROOT))}",
    ]
    for number, command in enumerate(commands):
        lines += [
            f"echo '::step {number}' >&2",
            substitute(command),
            f'rc=$?; echo "::exit {number} $rc" >&2; [ $rc -eq 0 ] || exit 100',
        ]
        if command.startswith("tidegate testenv up"):
            lines.append(f'eval "$({read_git})"')
    return "\n".join(lines) + "\n"


def test_placeholders_are_the_documented_ones() -> None:
    commands = tour_commands(README.read_text())
    assert commands[0] == ". .venv/bin/activate"
    assert commands[1].startswith("tidegate testenv up")
    assert commands[-1].startswith("tidegate testenv down")
    joined = "\n".join(substitute(c) for c in commands)
    assert "PORT" not in joined.replace("TOUR_PORT", "")
    assert "..." not in joined
    assert any("--context mgmt" in c for c in commands if c.startswith("tidegate cluster add"))


def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    assert (ROOT / ".venv" / "bin" / "activate").is_file(), (
        "the tour starts with '. .venv/bin/activate': create .venv as ./dev does"
    )
    commands = tour_commands(README.read_text())
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_") and k != "KUBECONFIG"}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(Path(platformdirs.user_cache_dir("tidegate")).parent),
        TIDEGATE_NAMESPACE="argocd",
        NO_COLOR="1",
    )
    env.pop("TIDEGATE_TESTENV_DIR", None)
    state = home / ".local" / "state" / "tidegate" / "testenv"
    log = tmp_path / "tour.log"
    try:
        with log.open("w") as out:
            proc = subprocess.Popen(
                ["bash", "-c", script(commands)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )
            try:
                code = proc.wait(timeout=TOUR_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 15)
                proc.wait(timeout=30)
                code = -1
        text = log.read_text()
        exits = dict(re.findall(r"^::exit (\d+) (\d+)$", text, re.MULTILINE))
        failed = next((int(n) for n, rc in exits.items() if rc != "0"), None)
        where = commands[failed] if failed is not None else f"after step {len(exits) - 1}"
        assert code == 0 and len(exits) == len(commands), (
            f"the tour stopped at: {where}\n--- output (last 6000 chars) ---\n{text[-6000:]}"
        )
        # The local diff after the sync exited 0: the app is in sync with its repository.
        assert exits[str(_index(commands, "tidegate app diff"))] == "0"
    finally:
        if (state / "state.json").exists():
            testbed.down(state)


def _index(commands: list[str], prefix: str) -> int:
    return next(i for i, c in enumerate(commands) if c.startswith(prefix))
