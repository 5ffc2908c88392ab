"""Benchmark of access control and the audit log (issue 13). Pure Python, no test bed.

Measured:
- authorisation with a 1,000-line policy (500 roles, 500 users): p50 of a first decision for a
  new object (target < 1 ms), and the filter of 10,000 apps for a user who may see 100;
- audit write on SQLite (a file in a temp dir): p50 over ``--writes`` appends (target < 2 ms);
- audit query over ``--entries`` SQLite entries (default 1,000,000; bulk-inserted, not timed)
  filtered by actor and one day: p50 (target < 100 ms).

    .venv/bin/python bench/rbac_bench.py [--entries 1000000] [--writes 500]
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common

from tidegate.auth import rbac
from tidegate.store import audit


def bench_authorisation() -> None:
    common.header("authorisation, 1,000-line policy")
    lines = []
    for i in range(500):
        lines.append(f"p, role:team{i}, applications, *, team{i}/*, allow")
        lines.append(f"g, user{i}, role:team{i}")
    policy = rbac.Policy(rbac.parse_config({"policy.csv": "\n".join(lines)}))
    samples = []
    for i in range(2000):
        start = time.perf_counter()
        policy.allows((f"user{i % 500}",), "applications", "sync", f"team{i % 500}/app-{i}")
        samples.append((time.perf_counter() - start) * 1000)
    p50 = common.percentile(samples, 0.5)
    common.row("first decision p50", f"{p50:.3f} ms ({common.verdict(p50, 1.0)} < 1 ms)")
    objects = [f"team{i % 100}/app-{i}" for i in range(10_000)]
    start = time.perf_counter()
    seen = sum(policy.allows(("user7",), "applications", "get", o) for o in objects)
    took = (time.perf_counter() - start) * 1000
    common.row("filter 10,000 apps (user sees 100)", f"{took:.0f} ms, {seen} visible")


def bench_audit(entries: int, writes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tidegate-audit-bench-") as tmp:
        log = audit.AuditLog(f"sqlite:///{Path(tmp) / 'audit.db'}")
        common.header("audit log on SQLite")
        samples = []
        for i in range(writes):
            entry = audit.Entry(actor="alice", action="sync", result="succeeded", name=f"a{i}")
            start = time.perf_counter()
            log.append(entry)
            samples.append((time.perf_counter() - start) * 1000)
        p50 = common.percentile(samples, 0.5)
        common.row("write p50", f"{p50:.3f} ms ({common.verdict(p50, 2.0)} < 2 ms)")

        base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        rng = random.Random(13)
        start = time.perf_counter()
        batch = []
        with log.engine.begin() as conn:
            for i in range(entries):
                at = base + datetime.timedelta(seconds=i * 30)  # ~347 days
                batch.append(
                    {
                        "at_us": int(at.timestamp() * 1_000_000),
                        "actor": f"user{rng.randrange(200)}",
                        "groups": "[]",
                        "client": "10.0.0.1",
                        "action": "sync",
                        "kind": "Application",
                        "project": f"team{rng.randrange(50)}",
                        "name": f"app-{rng.randrange(5000)}",
                        "namespace": "",
                        "result": "succeeded",
                        "reason": "",
                        "prev_hash": "bench",
                        "hash": "bench",
                    }
                )
                if len(batch) == 20_000:
                    conn.execute(audit.entries.insert(), batch)
                    batch = []
            if batch:
                conn.execute(audit.entries.insert(), batch)
        common.row("bulk insert (not timed as a target)", f"{time.perf_counter() - start:.1f} s")
        samples = []
        for day in range(20):
            since = base + datetime.timedelta(days=day * 15)
            flt = audit.Filter(
                actor=f"user{day}", since=since, until=since + datetime.timedelta(days=1)
            )
            start = time.perf_counter()
            log.query(flt, limit=1000)
            samples.append((time.perf_counter() - start) * 1000)
        p50 = common.percentile(samples, 0.5)
        common.row(
            f"query by actor and day over {entries:,}",
            f"p50 {p50:.1f} ms ({common.verdict(p50, 100.0)} < 100 ms)",
        )
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args()
    bench_authorisation()
    bench_audit(args.entries, args.writes)


if __name__ == "__main__":
    main()
