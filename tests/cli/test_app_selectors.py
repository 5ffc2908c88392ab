"""``app wait -l/--delete/-o`` and ``app delete -l`` against the test bed's management
cluster (no controller: only conditions that need none are waited for)."""

from __future__ import annotations

import json
import secrets

import pytest
from tests.cli.appcli import BASIC, Cli

pytestmark = pytest.mark.e2e


def test_wait_and_delete_by_selector(cli: Cli) -> None:
    team = f"w-{secrets.token_hex(3)}"
    ours = [f"sel-{secrets.token_hex(3)}" for _ in range(2)]
    other = f"sel-{secrets.token_hex(3)}"
    for name in ours:
        assert cli("create", name, *BASIC, "--label", f"team={team}").exit_code == 0
    assert cli("create", other, *BASIC, "--label", "team=else").exit_code == 0

    waited = cli("wait", "-l", f"team={team}", "--operation")
    assert waited.exit_code == 0, waited.output
    assert all(f"Name:          {cli.ns}/{n}" in waited.stdout for n in ours)
    assert other not in waited.stdout
    one = cli("wait", ours[0], "--operation", "-o", "json")
    assert one.exit_code == 0 and json.loads(one.stdout)["metadata"]["name"] == ours[0]
    assert cli("wait", *ours, "--operation").exit_code == 0
    for args, code, error in [
        (["-l", "team=nobody", "--operation"], 1, "no application matches team=nobody"),
        ([ours[0], "-l", f"team={team}"], 2, "names or -l, not both"),
        ([ours[0], "--delete", "--sync"], 2, "--delete waits for the app to be gone"),
        ([ours[0], "--delete", "--timeout", "1"], 1, "still exists"),
    ]:  # fmt: skip
        result = cli("wait", *args)
        assert result.exit_code == code, result.output
        assert error in result.stderr

    deleted = cli("delete", "-l", f"team={team}", "-y", "--no-cascade", "--timeout", "30")
    assert deleted.exit_code == 0, deleted.output
    assert not any(cli.exists(n) for n in ours) and cli.exists(other)
    gone = cli("wait", ours[1], "--delete", "--timeout", "10")
    assert gone.exit_code == 0 and f"application '{cli.ns}/{ours[1]}' deleted" in gone.stdout
    none = cli("delete", "-l", f"team={team}", "-y")
    assert none.exit_code == 1 and f"no application matches team={team}" in none.stderr
