"""Key renewal: the controller makes a new key every period and keeps the old ones to unseal."""

from __future__ import annotations

from typing import Any

from tests.sealedsecrets.e2e.conftest import Bed, make_secret, plain, tidegate

from tidegate.testenv import wait

# A renewal period of ~9 seconds (and small keys, to spare the shared machine's CPU).
CONTROLLER_ARGS = ["--key-renew-days=0.0001", "--key-size=2048"]


def active_keys(bed: Bed) -> list[dict[str, Any]]:
    listed = bed.get(
        f"/api/v1/namespaces/{bed.key_ns}/secrets"
        "?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key%3Dactive"
    )
    return list((listed or {}).get("items") or [])


def fetch_cert(bed: Bed) -> str:
    done = tidegate(
        "seal",
        f"--kubeconfig={bed.kubeconfig}",
        f"--controller-namespace={bed.key_ns}",
        "--fetch-cert",
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_new_key_seals_and_old_keys_still_unseal(bed: Bed, tmp_path: Any) -> None:
    first_cert = fetch_cert(bed)
    old_cert = tmp_path / "old.pem"
    old_cert.write_text(first_cert)

    await wait.eventually(lambda: len(active_keys(bed)) >= 2, within=60)
    assert fetch_cert(bed) != first_cert  # the newest key seals from now on

    # Sealed with the first key after it was superseded: still unsealed.
    bed.apply(bed.seal(make_secret(bed.app_ns, "old-key", v="1"), f"--cert={old_cert}"))
    bed.apply(bed.seal(make_secret(bed.app_ns, "new-key", v="2")))
    old = await wait.eventually(lambda: bed.secret("old-key"), within=60)
    new = await wait.eventually(lambda: bed.secret("new-key"), within=60)
    assert (plain(old), plain(new)) == ({"v": "1"}, {"v": "2"})
