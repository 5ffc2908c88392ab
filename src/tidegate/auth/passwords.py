"""Passwords of local accounts: generation, bcrypt hashing and timing-safe verification. Pure.

Hashes are stored in ``argocd-secret`` as Argo CD stores them (bcrypt, cost 10, ``$2a$``
prefix), so either product can check the other's. bcrypt only reads the first 72 bytes of a
password; longer ones are refused before any hashing, so a megabyte "password" costs nothing.
Verification of an unknown user still runs one bcrypt check against a fixed hash, so that the
time taken does not tell which usernames exist.
"""

from __future__ import annotations

import secrets
import string

import bcrypt

COST = 10
MAX_PASSWORD_BYTES = 72
MAX_USERNAME_BYTES = 32
INITIAL_PASSWORD_LENGTH = 16
_ALPHABET = string.ascii_letters + string.digits + "-"
# A hash of a random password nobody knows: what unknown users are checked against.
_DUMMY_HASH = bcrypt.hashpw(secrets.token_bytes(16).hex().encode(), bcrypt.gensalt(COST))


def generate_password(length: int = INITIAL_PASSWORD_LENGTH) -> str:
    """A random password from ``[0-9A-Za-z-]`` (Argo CD's initial admin password alphabet)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def acceptable(password: str) -> bool:
    """Whether the password can be hashed faithfully (non-empty, at most 72 bytes)."""
    return 0 < len(password.encode()) <= MAX_PASSWORD_BYTES


def hash_password(password: str) -> str:
    """The bcrypt hash (``$2a$10$...``) of an acceptable password; ValueError otherwise."""
    if not acceptable(password):
        raise ValueError(f"a password must be 1 to {MAX_PASSWORD_BYTES} bytes long")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(COST, prefix=b"2a"))
    return hashed.decode()


def verify_password(password: str, hashed: str | None) -> bool:
    """Whether ``password`` matches ``hashed``; None (unknown user) is checked against a dummy
    hash and never matches. Unacceptable passwords are refused without hashing."""
    if not acceptable(password):
        return False
    target = hashed.encode() if hashed else _DUMMY_HASH
    try:
        matched = bcrypt.checkpw(password.encode(), target)
    except ValueError:  # a malformed stored hash
        return False
    return matched and hashed is not None


class FailureCounter:
    """Failed logins per username, as Argo CD counts them: after ``max_failures`` within
    ``window`` seconds, further attempts for that name are refused (even a right password)
    until the window has passed. At most ``max_names`` names are tracked (oldest dropped)."""

    def __init__(
        self, *, max_failures: int = 5, window: float = 300.0, max_names: int = 10_000
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_names = max_names
        self._failures: dict[str, tuple[int, float]] = {}

    def blocked(self, username: str, now: float) -> bool:
        count, first = self._failures.get(username, (0, now))
        if self.window and now - first > self.window:
            self._failures.pop(username, None)
            return False
        return count >= self.max_failures > 0

    def failed(self, username: str, now: float) -> None:
        count, first = self._failures.pop(username, (0, now))
        if self.window and now - first > self.window:
            count, first = 0, now
        self._failures[username] = (count + 1, first)
        while len(self._failures) > self.max_names:
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)
