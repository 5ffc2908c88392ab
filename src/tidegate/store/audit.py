"""The audit log: an append-only, hash-chained table in SQLite or PostgreSQL (SQLAlchemy Core).

Each entry records when, who (actor, groups, client address), what (action; object kind,
project, name, namespace), the result (``allowed``, ``denied``, ``succeeded``, ``failed``) and a
reason. Each entry carries ``prev_hash`` (the previous entry's ``hash``) and its own ``hash``,
the SHA-256 of ``prev_hash`` and its canonical fields, so :meth:`AuditLog.verify` finds an entry
that was changed, inserted or removed in the middle. Retention (:meth:`AuditLog.prune`) drops
the oldest entries; the chain is then checked from the oldest one kept.

SQLAlchemy Core (not the ORM) is used because one schema and one set of parameterised queries
then serve both SQLite (the default: a file, nothing to run) and PostgreSQL (psycopg 3, for a
shared, durable log), and every filter value is a bound parameter, never SQL text.

The methods are synchronous (SQLAlchemy's engine); the server calls them in a worker thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

RESULTS = ("allowed", "denied", "succeeded", "failed")
WRITE_OPTION = "tidegate_audit_write"
GENESIS = "0" * 64
_FIELDS = (
    "at_us",
    "actor",
    "groups",
    "client",
    "action",
    "kind",
    "project",
    "name",
    "namespace",
    "result",
    "reason",
)
metadata = sa.MetaData()
entries = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("groups", sa.Text, nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("project", sa.String(256), nullable=False),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("namespace", sa.String(256), nullable=False),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("audit_actor_at", "actor", "at_us"),
    sa.Index("audit_at", "at_us"),
    sa.Index("audit_name_at", "name", "at_us"),
    sa.Index("audit_project_at", "project", "at_us"),
)


@dataclasses.dataclass(frozen=True)
class Entry:
    actor: str
    action: str
    result: str
    kind: str = ""
    project: str = ""
    name: str = ""
    namespace: str = ""
    client: str = ""
    reason: str = ""
    groups: tuple[str, ...] = ()
    at: datetime.datetime | None = None  # now, when not given


@dataclasses.dataclass(frozen=True)
class Filter:
    actor: str = ""
    action: str = ""
    kind: str = ""
    name: str = ""
    project: str = ""
    result: str = ""
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None


def _us(when: datetime.datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp() * 1_000_000)


def _digest(prev: str, row: Mapping[str, Any]) -> str:
    fields = {k: row[k] for k in _FIELDS}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + canonical).encode()).hexdigest()


def row_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as the API answers it."""
    at = datetime.datetime.fromtimestamp(row["at_us"] / 1_000_000, datetime.UTC)
    return {
        "id": row["id"],
        "time": at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "actor": row["actor"],
        "groups": json.loads(row["groups"] or "[]"),
        "client": row["client"],
        "action": row["action"],
        "object": {
            "kind": row["kind"],
            "project": row["project"],
            "name": row["name"],
            "namespace": row["namespace"],
        },
        "result": row["result"],
        "reason": row["reason"],
        "hash": row["hash"],
    }


class AuditLog:
    def __init__(self, url: str) -> None:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.url = url
        postgres = url.startswith("postgresql")
        # A ping per checkout costs a round trip on every write; only a server connection
        # can go stale, a SQLite file cannot.
        self.engine = sa.create_engine(url, pool_pre_ping=postgres)
        self.postgres = self.engine.dialect.name == "postgresql"
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        metadata.create_all(self.engine)
        self._lock = threading.Lock()
        # Built once and reused with new parameters: SQLAlchemy then skips rebuilding and
        # re-keying the statement on every write (most of a write's CPU before).
        self._insert = entries.insert()
        self._last_hash = sa.select(entries.c.hash).order_by(entries.c.id.desc()).limit(1)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        """A write transaction (on SQLite ``BEGIN IMMEDIATE``: see _sqlite_begin)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def append(self, entry: Entry) -> dict[str, Any]:
        """Add one entry at the end of the chain; its stored row."""
        if entry.result not in RESULTS:
            raise ValueError(f"audit result must be one of {RESULTS}, not {entry.result!r}")
        row: dict[str, Any] = {
            "at_us": _us(entry.at or datetime.datetime.now(datetime.UTC)),
            "actor": entry.actor[:256],
            "groups": json.dumps(list(entry.groups)),
            "client": entry.client[:64],
            "action": entry.action[:64],
            "kind": entry.kind[:64],
            "project": entry.project[:256],
            "name": entry.name[:512],
            "namespace": entry.namespace[:256],
            "result": entry.result,
            "reason": entry.reason[:2000],
        }
        with self._lock, self._writing() as conn:
            if self.postgres:  # one writer at a time across server processes
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7413201)"))
            last = conn.execute(self._last_hash).scalar()
            row["prev_hash"] = last or GENESIS
            row["hash"] = _digest(row["prev_hash"], row)
            inserted = conn.execute(self._insert, row).inserted_primary_key
            row["id"] = inserted[0] if inserted else None
        return row

    def query(self, flt: Filter, *, limit: int = 100, before_id: int = 0) -> list[dict[str, Any]]:
        """Entries matching ``flt``, newest first; ``before_id`` pages on from a previous page."""
        c = entries.c
        stmt = sa.select(entries).order_by(c.id.desc()).limit(max(1, min(limit, 1000)))
        for column, value in (
            (c.actor, flt.actor),
            (c.action, flt.action),
            (c.kind, flt.kind),
            (c.name, flt.name),
            (c.project, flt.project),
            (c.result, flt.result),
        ):
            if value:
                stmt = stmt.where(column == value)
        if flt.since is not None:
            stmt = stmt.where(c.at_us >= _us(flt.since))
        if flt.until is not None:
            stmt = stmt.where(c.at_us < _us(flt.until))
        if before_id:
            stmt = stmt.where(c.id < before_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def _rows(self) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(
                sa.select(entries).order_by(entries.c.id)
            )
            for r in result:
                yield dict(r._mapping)

    def verify(self) -> list[str]:
        """Problems in the chain (empty when intact): entries whose hash does not match their
        content, or whose ``prev_hash`` is not the previous entry's hash."""
        problems: list[str] = []
        prev: str | None = None
        for row in self._rows():
            if prev is not None and row["prev_hash"] != prev:
                problems.append(
                    f"entry {row['id']}: previous hash does not match"
                    " (entries removed or inserted before it)"
                )
            if _digest(row["prev_hash"], row) != row["hash"]:
                problems.append(f"entry {row['id']}: content does not match its hash (changed)")
            prev = row["hash"]
        return problems

    def prune(self, older_than: datetime.datetime) -> int:
        """Drop entries older than ``older_than`` (retention); how many were dropped."""
        with self._lock, self._writing() as conn:
            done = conn.execute(entries.delete().where(entries.c.at_us < _us(older_than)))
            return int(done.rowcount or 0)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Transactions are begun by _sqlite_begin_immediate, not by the driver.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    """Writers take SQLite's write lock before they read the last hash (``BEGIN IMMEDIATE``),
    so two processes sharing the file (server and controller) never fork the chain; readers
    begin a plain (deferred) transaction and never wait for writers (WAL)."""
    immediate = conn.get_execution_options().get(WRITE_OPTION)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
