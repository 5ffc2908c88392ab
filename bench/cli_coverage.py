"""How much of argocd's command line ``tidegate`` covers: commands x/97, flags y/576.

Reads argocd's reference (tests/cli/testdata/argocd-cli-*.txt) and Tidegate's Typer command
tree (no cluster, no ``tidegate`` process); the gaps are listed in ``tidegate.cli.parity``.
    .venv/bin/python bench/cli_coverage.py [--gaps]
"""

from __future__ import annotations

import sys
from pathlib import Path

from tidegate.cli import main, parity

DATA = Path(__file__).resolve().parent.parent / "tests" / "cli" / "testdata"


def run() -> None:
    commands = [c for c in (DATA / "argocd-cli-commands.txt").read_text().splitlines() if c]
    flags = [
        (c, f)
        for c, _, f in (
            ln.partition("\t") for ln in (DATA / "argocd-cli-flags.txt").read_text().splitlines()
        )
        if c
    ]
    report = parity.coverage(commands, flags, main.command_tree())
    (cmds, cmd_total), (have, flag_total) = report["commands"], report["flags"]  # type: ignore[misc]
    print(f"commands {cmds}/{cmd_total}  flags {have}/{flag_total}  "
          f"deliberately unsupported (accepted with a notice) {report['unsupported']}")  # fmt: skip
    if "--gaps" in sys.argv:
        print(parity.NOT_YET_TEXT, end="")


if __name__ == "__main__":
    run()
