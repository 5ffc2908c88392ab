"""Benchmark: Sealed Secrets unseal throughput and ``tidegate seal`` latency.

1. RSA-4096 private operations (OAEP-SHA256 unwrap of a session key) per second on one core:
   each sealed value costs one, so this bounds unsealing.
2. Unseal of N SealedSecrets (one value each) with one key: the pure SealedSecret -> Secret
   step the controller runs per object (target: 1,000 in < 10 s).
3. ``tidegate seal --cert FILE`` of one Secret, as a user runs it: a fresh process, including
   interpreter start-up and imports (target: < 0.5 s).

Run: .venv/bin/python bench/sealed_bench.py [--count 1000] [--bits 4096] [--seal-runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tidegate.sealedsecrets import crypto, keys, sealing, unsealing


def _secret(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"s{i}", "namespace": "bench"},
        "stringData": {"password": f"value-{i}"},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--bits", type=int, default=4096)
    parser.add_argument("--seal-runs", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    key = keys.generate_private_key(args.bits)
    print(f"RSA-{args.bits} key generation: {time.perf_counter() - started:.2f} s")
    public = key.public_key()

    blob = crypto.encrypt(public, b"bench/s0", b"x")
    wrapped = blob[2 : 2 + args.bits // 8]
    oaep = crypto.oaep_padding(b"bench/s0")
    ops = 200
    started = time.perf_counter()
    for _ in range(ops):
        key.decrypt(wrapped, oaep)
    per_op = (time.perf_counter() - started) / ops
    print(
        f"RSA-{args.bits} OAEP private ops: {1 / per_op:.0f}/s on one core "
        f"({per_op * 1e3:.2f} ms each)"
    )

    sealed = [sealing.seal_secret(_secret(i), public) for i in range(args.count)]
    started = time.perf_counter()
    for i, obj in enumerate(sealed):
        obj["metadata"]["uid"] = f"uid-{i}"
        unsealing.unseal(obj, [key])
    took = time.perf_counter() - started
    print(f"unseal of {args.count} SealedSecrets: {took:.2f} s ({args.count / took:.0f}/s)")

    with tempfile.TemporaryDirectory() as tmp:
        cert = Path(tmp) / "cert.pem"
        cert.write_bytes(keys.certificate_pem(keys.self_signed_certificate(key)))
        payload = json.dumps(_secret(0))
        times = []
        for _ in range(args.seal_runs):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "tidegate", "seal", f"--cert={cert}"],
                input=payload,
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(time.perf_counter() - started)
            assert done.stdout.lstrip().startswith("{")
    print(
        f"tidegate seal of one Secret (new process): median {statistics.median(times):.3f} s, "
        f"min {min(times):.3f} s over {args.seal_runs} runs"
    )


if __name__ == "__main__":
    main()
