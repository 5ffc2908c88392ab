"""The audit log's chain, filters, paging and retention on SQLite (and PostgreSQL when the
Debian server binaries are installed: started on loopback in a temporary directory)."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tidegate.store import audit
from tidegate.testenv import procs

PG_BIN = Path("/usr/lib/postgresql")


def _pg_bin() -> Path | None:
    found = sorted(PG_BIN.glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL on 127.0.0.1 (as user postgres when run as root)."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.fail(
            "PostgreSQL server binaries are not installed: ./dev installs the Debian package "
            "postgresql"
        )
    tmp = Path(tempfile.mkdtemp(prefix="tidegate-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = procs.free_port()
    data = tmp / "data"

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(tmp / "log"),
        "-w",
        "-o",
        f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[audit.AuditLog]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = audit.AuditLog(url)
    with store.engine.begin() as conn:
        conn.execute(audit.entries.delete())
    try:
        yield store
    finally:
        store.close()


DAY = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)


def _fill(log: audit.AuditLog) -> None:
    for i in range(6):
        log.append(
            audit.Entry(
                actor="alice" if i % 2 else "bob",
                action="sync",
                result="succeeded" if i % 3 else "denied",
                kind="Application",
                project="team-a",
                name=f"app-{i}",
                client="127.0.0.1",
                at=DAY + datetime.timedelta(hours=i),
            )
        )


def test_chain_verifies_and_shows_tampering(log: audit.AuditLog) -> None:
    _fill(log)
    assert log.verify() == []
    rows = log.query(audit.Filter(), limit=10)
    assert rows[0]["prev_hash"] == rows[1]["hash"]
    with log.engine.begin() as conn:
        conn.execute(
            sa.update(audit.entries).where(audit.entries.c.name == "app-2").values(result="denied")
        )
    assert [p.split(":")[0] for p in log.verify()] == [f"entry {rows[3]['id']}"]
    with log.engine.begin() as conn:
        conn.execute(sa.delete(audit.entries).where(audit.entries.c.name == "app-4"))
    assert any("previous hash does not match" in p for p in log.verify())


def test_filters_paging_and_sql_looking_values(log: audit.AuditLog) -> None:
    _fill(log)
    alice = log.query(audit.Filter(actor="alice"))
    assert [r["name"] for r in alice] == ["app-5", "app-3", "app-1"]
    day = audit.Filter(
        since=DAY + datetime.timedelta(hours=2), until=DAY + datetime.timedelta(hours=4)
    )
    assert [r["name"] for r in log.query(day)] == ["app-3", "app-2"]
    assert [r["name"] for r in log.query(audit.Filter(result="denied"))] == ["app-3", "app-0"]
    first = log.query(audit.Filter(), limit=4)
    rest = log.query(audit.Filter(), limit=4, before_id=first[-1]["id"])
    assert [r["name"] for r in first + rest] == [f"app-{i}" for i in range(5, -1, -1)]
    assert log.query(audit.Filter(actor="alice' OR '1'='1")) == []
    assert log.query(audit.Filter(name="x'; DROP TABLE audit_log; --")) == []
    assert len(log.query(audit.Filter())) == 6
    assert audit.row_json(alice[0])["object"] == {
        "kind": "Application",
        "project": "team-a",
        "name": "app-5",
        "namespace": "",
    }


def test_retention_drops_the_oldest_and_the_rest_still_verifies(log: audit.AuditLog) -> None:
    _fill(log)
    assert log.prune(DAY + datetime.timedelta(hours=3)) == 3
    assert [r["name"] for r in log.query(audit.Filter())] == ["app-5", "app-4", "app-3"]
    assert log.verify() == []
    with pytest.raises(ValueError, match="audit result"):
        log.append(audit.Entry(actor="x", action="y", result="maybe"))


_WRITER = """
import sys
from tidegate.store import audit
log = audit.AuditLog(sys.argv[1])
for i in range(int(sys.argv[3])):
    log.append(audit.Entry(actor=sys.argv[2], action="sync", result="succeeded", name=f"a{i}"))
log.close()
"""


def test_two_processes_sharing_a_sqlite_file_keep_one_chain(tmp_path: Path) -> None:
    """The server and the controller append to the same file: writers lock before they read
    the last hash, so the chain never forks."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    audit.AuditLog(url).close()
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, url, who, "150"])
        for who in ("server", "controller")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    log = audit.AuditLog(url)
    try:
        assert log.verify() == []
        assert len(log.query(audit.Filter(), limit=1000)) == 300
    finally:
        log.close()
