"""Benchmark: Sealed Secrets unseal throughput and ``tidegate seal`` latency.

1. RSA-4096 private operations (OAEP-SHA256 unwrap of a session key) per second on one core,
   then in the controller's decryption threads (one per usable core): each sealed value costs
   one, so this bounds unsealing.
2. Unseal of N SealedSecrets (one value each) with one key: the pure SealedSecret -> Secret
   step the controller runs per object, in one thread and with the RSA part in the decryption
   threads as the controller runs it (target: 1,000 in < 10 s); wall and CPU seconds.
3. ``tidegate seal --cert FILE`` of one Secret, as a user runs it: a fresh process, including
   interpreter start-up and imports (target: < 0.5 s).
4. With ``--on-cluster``: the same N SealedSecrets in a namespace of the test bed's ``dev``, and
   the real controller process (``tidegate sealed-secrets-controller``) started on it: the time
   until all N Secrets exist, process start-up included (target: < 10 s), and from its
   "ready" line (the initial list unsealed) on.

Run: .venv/bin/python bench/sealed_bench.py [--count 1000] [--bits 4096] [--seal-runs 5]
     [--on-cluster]   (a fresh test bed, or the one in $TIDEGATE_TESTENV_DIR)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.sealedsecrets import controller, crypto, keys, sealing, unsealing
from tidegate.testenv import procs


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
    parser.add_argument("--on-cluster", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    key = keys.generate_private_key(args.bits)
    print(f"RSA-{args.bits} key generation: {time.perf_counter() - started:.2f} s")
    public = key.public_key()

    blob = crypto.encrypt(public, b"bench/s0", b"x")
    wrapped = blob[2 : 2 + args.bits // 8]
    oaep = crypto.oaep_padding(b"bench/s0")
    ops = 200
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(ops):
        key.decrypt(wrapped, oaep)
    per_op = (time.perf_counter() - started) / ops
    cpu_per_op = (time.process_time() - cpu) / ops
    print(
        f"RSA-{args.bits} OAEP private ops: {1 / per_op:.0f}/s on one core "
        f"({per_op * 1e3:.2f} ms each; {1 / cpu_per_op:.0f} per CPU second, what a core "
        "that is not shared does)"
    )

    threads = controller.DECRYPT_THREADS
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        started, cpu = time.perf_counter(), time.process_time()
        list(pool.map(lambda _: key.decrypt(wrapped, oaep), range(ops)))
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"RSA-{args.bits} OAEP private ops in {threads} threads (the controller's decryption "
        f"pool): {ops / took:.0f}/s, {cpu / took:.2f} cores busy (cryptography lets go of the GIL)"
    )

    sealed = [sealing.seal_secret(_secret(i), public) for i in range(args.count)]
    for i, obj in enumerate(sealed):
        obj["metadata"]["uid"] = f"uid-{i}"
    started, cpu = time.perf_counter(), time.process_time()
    for obj in sealed:
        unsealing.unseal(obj, [key])
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"unseal of {args.count} SealedSecrets, one thread: {took:.2f} s "
        f"({args.count / took:.0f}/s, {cpu:.2f} s CPU)"
    )
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        started, cpu = time.perf_counter(), time.process_time()
        for obj, values in zip(
            sealed, pool.map(lambda o: unsealing.decrypt_values(o, [key]), sealed), strict=True
        ):
            unsealing.secret_for(obj, values)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"unseal of {args.count} SealedSecrets, RSA in {threads} threads: {took:.2f} s "
        f"({args.count / took:.0f}/s, {cpu:.2f} s CPU)"
    )

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
    if args.on_cluster:
        on_cluster(key, args.count)


def _create_all(c: httpx.Client, path: str, objs: list[dict[str, Any]]) -> None:
    for obj in objs:
        c.post(path, json=obj).raise_for_status()


def _count(c: httpx.Client, ns: str) -> int:
    resp = c.get(f"/api/v1/namespaces/{ns}/secrets", params={"labelSelector": "bench=sealed"})
    resp.raise_for_status()
    return len(resp.json()["items"])


def on_cluster(key: rsa.RSAPrivateKey, count: int) -> None:
    """N SealedSecrets on dev, then the controller process: time until all N Secrets exist."""
    token = secrets.token_hex(3)
    key_ns, ns = f"bench-ssk-{token}", f"bench-ssa-{token}"
    public = key.public_key()
    with common.test_bed(["dev"], git=False) as bed:
        kubeconfig = str(bed.clusters["dev"].kubeconfig)
        subprocess.run(
            [sys.executable, "-m", "tidegate", "sealed-secrets-controller",
             f"--kubeconfig={kubeconfig}", "--install-crd"],
            check=True, capture_output=True,
        )  # fmt: skip
        with bed.admin_client("dev", timeout=60) as c:
            for name in (key_ns, ns):
                c.post("/api/v1/namespaces", json=common.namespace_object(name)).raise_for_status()
            try:
                key_secret = keys.key_secret(
                    key, keys.self_signed_certificate(key), namespace=key_ns
                )
                c.post(f"/api/v1/namespaces/{key_ns}/secrets", json=key_secret).raise_for_status()
                objs = []
                for i in range(count):
                    secret = _secret(i)
                    secret["metadata"].update(namespace=ns, labels={"bench": "sealed"})
                    objs.append(sealing.seal_secret(secret, public))
                _create_all(c, f"/apis/bitnami.com/v1alpha1/namespaces/{ns}/sealedsecrets", objs)
                log = Path(tempfile.mkdtemp(prefix="sealed-bench-")) / "controller.log"
                load_before = os.getloadavg()[0]
                started = time.perf_counter()
                pid = procs.spawn(
                    [sys.executable, "-m", "tidegate", "sealed-secrets-controller",
                     f"--kubeconfig={kubeconfig}", f"--controller-namespace={key_ns}",
                     f"--namespace={ns}", "--key-renew-days=0", "--logformat=text"],
                    log=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )  # fmt: skip
                try:
                    common.wait_until(
                        lambda: "sealed secrets controller ready" in log.read_text(),
                        timeout=600,
                        interval=0.05,
                        what="the controller's initial list",
                    )
                    ready = time.perf_counter() - started
                    common.wait_until(
                        lambda: _count(c, ns) >= count, timeout=600, interval=0.2, what="Secrets"
                    )
                    took = time.perf_counter() - started
                    cpu = common.cpu_seconds(pid)
                finally:
                    procs.stop([pid], marker="sealed-secrets-controller")
                print(
                    f"controller on dev: {count} Secrets written {took:.2f} s after the process "
                    f"started ({count / took:.0f}/s); initial list unsealed and written at "
                    f"{ready:.2f} s ({common.verdict(took, 10.0)}: < 10 s); the controller "
                    f"process used {cpu:.1f} s of CPU; load average {load_before:.1f} at start, "
                    f"{os.getloadavg()[0]:.1f} at the end (2 cores)"
                )
            finally:
                for name in (key_ns, ns):
                    c.delete(f"/api/v1/namespaces/{name}")


if __name__ == "__main__":
    main()
