"""GnuPG verification with the real gpg and git: the keyring built from argocd-gpg-keys-cm
entries, and verdicts on signed, unsigned and foreign-signed commits and tags of a cached
repository (served by the real test git server)."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.sources import Keyring, RepoCache, RepoCredentials, Verifier, gpgstatus
from tidegate.testenv import gitserver, gpgkeys

SOURCE = "ConfigMap tg/argocd-gpg-keys-cm"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gpgkeys.SigningKey]:
    with gpgkeys.signing_key(tmp_path_factory.mktemp("signer") / "gnupg") as key:
        yield key


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gpgkeys.SigningKey]:
    home = tmp_path_factory.mktemp("stranger") / "gnupg"
    with gpgkeys.signing_key(home, user_id="Stranger <x@tidegate.invalid>") as key:
        yield key


async def test_keyring_imports_listed_keys_once_and_reports_bad_entries(
    tmp_path: Path, signer: gpgkeys.SigningKey, stranger: gpgkeys.SigningKey
) -> None:
    keyring = Keyring(tmp_path / "gnupg")
    entries = {
        signer.key_id: signer.armored,
        # two keys in one entry: refused (one key per entry)
        "0123456789ABCDEF": signer.armored + stranger.armored,
        # filed under the wrong id: refused, never imported
        "4AEE18F83AFDEB23": stranger.armored,
        "not-a-key-id": stranger.armored,
        stranger.key_id: "-----BEGIN PGP PUBLIC KEY BLOCK-----\ngarbage\n",
    }
    loaded = await keyring.load(entries, source=SOURCE)
    assert signer.key_id in loaded.key_ids
    assert stranger.key_id not in loaded.key_ids
    assert len(loaded.problems) == 4
    problems = "\n".join(loaded.problems)
    assert f"entry '4AEE18F83AFDEB23': ignored: it holds key {stranger.key_id}" in problems
    assert "entry 'not-a-key-id': ignored" in problems
    assert "entry '0123456789ABCDEF': ignored: it holds 2 keys" in problems
    assert f"entry '{stranger.key_id}': ignored: not an OpenPGP public key" in problems
    assert all(p.startswith(SOURCE) for p in loaded.problems)
    for directory in (tmp_path / "gnupg", loaded.home):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert await keyring.load(dict(entries), source=SOURCE) is loaded  # unchanged: no rebuild
    again = await keyring.load({stranger.key_id: stranger.armored}, source=SOURCE)
    assert again.home != loaded.home and again.key_ids >= {stranger.key_id}
    assert signer.key_id not in again.key_ids


async def test_keyring_refuses_a_secret_key(tmp_path: Path, signer: gpgkeys.SigningKey) -> None:
    secret = gpgkeys._gpg(
        signer.home,
        "--armor",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--export-secret-keys",
        signer.fingerprint,
    )
    loaded = await Keyring(tmp_path / "gnupg").load({signer.key_id: secret}, source=SOURCE)
    assert loaded.key_ids == frozenset()
    assert "holds a secret key" in loaded.problems[0]


async def test_verdicts_for_commits_and_tags(
    tmp_path: Path,
    git_server: gitserver.GitServer,
    http_creds: RepoCredentials,
    signer: gpgkeys.SigningKey,
    stranger: gpgkeys.SigningKey,
) -> None:
    name = "signatures/verdicts"
    repo = git_server.create_repo(name)
    work = git_server.working_copy(name)
    signed = work.commit({"a.yaml": "a: 1\n"}, "signed", signing=signer)
    work.tag("v1-signed", message="release", signing=signer)
    work.tag("v1-annotated", message="not signed")
    work.tag("v1-light")
    foreign = work.commit({"a.yaml": "a: 2\n"}, "by a stranger", signing=stranger)
    unsigned = work.commit({"a.yaml": "a: 3\n"}, "unsigned")

    cache = RepoCache(tmp_path / "cache", timeout=60)
    verifier = Verifier(cache, Keyring(tmp_path / "gnupg"))
    keyring = await verifier.keyring.load({signer.key_id: signer.armored}, source=SOURCE)

    async def check(revision: str) -> gpgstatus.Verdict:
        commit = await cache.resolve(repo.http_url, revision, creds=http_creds)
        checked = await verifier.check(keyring, repo.http_url, revision, commit)
        return checked.verdict

    good = await check(signed)
    assert good.outcome is gpgstatus.Outcome.GOOD
    assert good.signed_by_any([signer.key_id]) and not good.signed_by_any([stranger.key_id])
    assert (await check("v1-light")).outcome is gpgstatus.Outcome.GOOD  # the commit's signature
    assert (await check("v1-signed")).outcome is gpgstatus.Outcome.GOOD  # the tag's signature
    # An annotated tag is checked itself, as Argo CD does: on a signed commit it is unsigned.
    assert (await check("v1-annotated")).outcome is gpgstatus.Outcome.UNSIGNED
    missing = await check(foreign)
    assert missing.outcome is gpgstatus.Outcome.MISSING_KEY
    assert missing.key_id == stranger.key_id
    assert (await check(unsigned)).outcome is gpgstatus.Outcome.UNSIGNED
    assert (await check("main")).outcome is gpgstatus.Outcome.UNSIGNED
    runs = verifier.runs
    assert (await check(signed)).outcome is gpgstatus.Outcome.GOOD
    assert verifier.runs == runs  # a verdict is cached per object and keyring
    # Concurrent checks of one new object share one git run.
    fresh = work.commit({}, "signed, not verified yet", signing=signer)
    await cache.refresh(repo.http_url, creds=http_creds)
    verdicts = await asyncio.gather(
        *(verifier.check(keyring, repo.http_url, fresh, fresh) for _ in range(8))
    )
    assert {v.verdict.outcome for v in verdicts} == {gpgstatus.Outcome.GOOD}
    assert verifier.runs == runs + 1
    # Verification never started a gpg-agent in Tidegate's keyring.
    assert not list(keyring.home.glob("S.gpg-agent*"))
    # With the stranger's key imported too, its signature is good (whether it is allowed is
    # the project's business, not the keyring's).
    both = await verifier.keyring.load(
        {signer.key_id: signer.armored, stranger.key_id: stranger.armored}, source=SOURCE
    )
    checked = await verifier.check(both, repo.http_url, foreign, foreign)
    assert checked.verdict.outcome is gpgstatus.Outcome.GOOD
    assert checked.verdict.key_id == stranger.key_id


async def test_a_gpg_that_cannot_run_is_an_error_not_unsigned(
    tmp_path: Path,
    git_server: gitserver.GitServer,
    http_creds: RepoCredentials,
    signer: gpgkeys.SigningKey,
) -> None:
    name = "signatures/no-gpg"
    repo = git_server.create_repo(name)
    signed = git_server.working_copy(name).commit({"a": "1"}, "signed", signing=signer)
    cache = RepoCache(tmp_path / "cache", timeout=60)
    verifier = Verifier(cache, Keyring(tmp_path / "gnupg", gpg=str(tmp_path / "no-gpg")))
    keyring = await verifier.keyring.load({}, source=SOURCE)
    await cache.resolve(repo.http_url, signed, creds=http_creds)
    with pytest.raises(errors.SignatureError, match=r"git verify-commit \w+ failed: .*no-gpg"):
        await verifier.check(keyring, repo.http_url, signed, signed)
    missing = "0" * 40
    with pytest.raises(errors.SignatureError, match="failed"):
        await verifier.check(keyring, repo.http_url, missing, missing)
