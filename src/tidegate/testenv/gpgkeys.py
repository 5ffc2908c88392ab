"""Throwaway GnuPG signing keys for tests: real ``gpg``, no passphrase, in a
GNUPGHOME of their own (never the user's keyring).

``with signing_key(home) as key`` makes a key (``SigningKey.generate`` without the cleanup);
``armored`` is what goes into ``argocd-gpg-keys-cm`` under ``key_id``; ``git_env()`` and
``git_config()`` let git sign commits and tags with it
(:meth:`tidegate.testenv.gitrepos.WorkingCopy.commit` takes ``signing=``). ``close()`` stops the
gpg-agent that signing started.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tidegate.model import errors

_TIMEOUT = 60.0


def _gpg(home: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["gpg", "--batch", "--no-tty", "--homedir", str(home), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    if result.returncode != 0:
        raise errors.TestEnvError(f"gpg {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


@dataclass(frozen=True)
class SigningKey:
    home: Path
    fingerprint: str
    armored: str

    @property
    def key_id(self) -> str:
        """The long key id, as ``signatureKeys`` and ``argocd-gpg-keys-cm`` name keys."""
        return self.fingerprint[-16:]

    @classmethod
    def generate(
        cls, home: Path, *, user_id: str = "Tidegate Test Signer <signer@tidegate.invalid>"
    ) -> SigningKey:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        home.chmod(0o700)
        _gpg(home, "--passphrase", "", "--quick-gen-key", user_id, "default", "default", "never")
        listing = _gpg(home, "--with-colons", "--list-keys", user_id)
        fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )
        armored = _gpg(home, "--armor", "--export", fingerprint)
        return cls(home, fingerprint, armored)

    def git_env(self) -> dict[str, str]:
        return {"GNUPGHOME": str(self.home)}

    def git_config(self) -> list[str]:
        """``git -c`` arguments that make ``commit -S`` / ``tag -s`` use this key."""
        return ["-c", f"user.signingkey={self.fingerprint}", "-c", "gpg.program=gpg"]

    def close(self) -> None:
        """Stop the gpg-agent that signing started for this home (if any)."""
        subprocess.run(
            ["gpgconf", "--homedir", str(self.home), "--kill", "all"],
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )


@contextlib.contextmanager
def signing_key(home: Path, *, user_id: str = "") -> Iterator[SigningKey]:
    """A fresh key in ``home``, its gpg-agent stopped on exit."""
    key = SigningKey.generate(home, user_id=user_id) if user_id else SigningKey.generate(home)
    try:
        yield key
    finally:
        key.close()
