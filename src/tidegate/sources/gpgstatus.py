"""Reading GnuPG's machine-readable status output (``--status-fd``; what ``git verify-commit
--raw`` and ``git verify-tag --raw`` print): pure, no I/O.

Only ``[GNUPG:] KEYWORD args`` lines count (gpg's DETAILS file documents them); human text,
which changes with the locale and the version, is never parsed. A verification is *good* only
when a signature has both ``GOODSIG`` and ``VALIDSIG`` and no signature of the object is bad,
expired, revoked or unverifiable. Key ids are compared in their long form (16 upper-case hex
digits, the last 16 of a fingerprint), as Argo CD does for ``signatureKeys``; a signature made
by a subkey counts for its primary key too.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable

from tidegate.model import errors

STATUS_PREFIX = "[GNUPG:] "
_HEX = re.compile(r"^[0-9A-F]+$")


class Outcome(enum.StrEnum):
    """What the verification found (wire words as Argo CD reports them)."""

    GOOD = "signed"
    UNSIGNED = "unsigned"
    BAD = "bad signature"
    MISSING_KEY = "signed with key not in keyring"
    EXPIRED_SIGNATURE = "expired signature"
    EXPIRED_KEY = "signed with expired key"
    REVOKED_KEY = "signed with revoked key"
    UNKNOWN = "unverifiable"


# Status keywords that end a signature's verification, and what each means.
_RESULTS = {
    "GOODSIG": Outcome.GOOD,
    "BADSIG": Outcome.BAD,
    "EXPSIG": Outcome.EXPIRED_SIGNATURE,
    "EXPKEYSIG": Outcome.EXPIRED_KEY,
    "REVKEYSIG": Outcome.REVOKED_KEY,
    "ERRSIG": Outcome.MISSING_KEY,
}


@dataclasses.dataclass(frozen=True)
class Signature:
    """One signature of the verified object."""

    outcome: Outcome
    key_id: str  # long id of the signing key (a subkey, possibly)
    primary_key_id: str = ""  # long id of its primary key (from VALIDSIG), "" when unknown
    signer: str = ""  # the user id gpg printed, "" when unknown
    valid: bool = False  # VALIDSIG seen for it


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The verification of one commit or tag object."""

    outcome: Outcome
    signatures: tuple[Signature, ...] = ()

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The long ids that made the signatures: signing keys and their primary keys."""
        out: list[str] = []
        for sig in self.signatures:
            for kid in (sig.key_id, sig.primary_key_id):
                if kid and kid not in out:
                    out.append(kid)
        return tuple(out)

    @property
    def key_id(self) -> str:
        """The key to name in a message: the primary key of the first signature, if known."""
        first = self.signatures[0] if self.signatures else None
        if first is None:
            return ""
        return first.primary_key_id or first.key_id

    def signed_by_any(self, allowed: Iterable[str]) -> bool:
        """Whether the verdict is good and a listed key (id or fingerprint) made it."""
        if self.outcome is not Outcome.GOOD:
            return False
        wanted = {normalise_key_id(k) for k in allowed}
        return any(kid in wanted for kid in self.key_ids)


def normalise_key_id(value: str) -> str:
    """A key id or fingerprint (optionally ``0x``-prefixed, spaced) as a long id.

    SpecError when it is neither 16 nor 40 hex digits (short 8-digit ids collide too easily to
    be trusted).
    """
    text = value.strip().replace(" ", "").upper().removeprefix("0X")
    if not _HEX.match(text) or len(text) not in (16, 40):
        raise errors.SpecError(
            f"GnuPG key id {value!r} is not a 16-digit key id or a 40-digit fingerprint"
        )
    return text[-16:]


def parse_status(text: str) -> Verdict:
    """The verdict in gpg status output. No status line at all means the object is unsigned
    (git prints nothing when there is no signature to give to gpg)."""
    signatures: list[Signature] = []
    current: dict[str, str] = {}
    seen_status = False

    def close() -> None:
        if "result" in current:
            signatures.append(
                Signature(
                    outcome=Outcome(current["result"]),
                    key_id=current.get("key_id", ""),
                    primary_key_id=current.get("primary", ""),
                    signer=current.get("signer", ""),
                    valid="valid" in current,
                )
            )
        current.clear()

    for line in text.splitlines():
        if not line.startswith(STATUS_PREFIX):
            continue
        seen_status = True
        keyword, _, rest = line[len(STATUS_PREFIX) :].partition(" ")
        args = rest.split(" ")
        if keyword == "NEWSIG":
            close()
        elif keyword in _RESULTS:
            if "result" in current:  # a second result without NEWSIG: a new signature
                close()
            current["result"] = _RESULTS[keyword].value
            current["key_id"] = _long_id(args[0]) if args and args[0] else ""
            if keyword != "ERRSIG":
                current["signer"] = rest.partition(" ")[2]
        elif keyword == "VALIDSIG" and args and args[0]:
            current["valid"] = "1"
            current["key_id"] = _long_id(args[0])
            # The primary key's fingerprint is the 10th argument (gpg >= 1.4.x).
            if len(args) >= 10 and args[9]:
                current["primary"] = _long_id(args[9])
        elif keyword == "NO_PUBKEY" and args and args[0] and "result" not in current:
            current["result"] = Outcome.MISSING_KEY.value
            current["key_id"] = _long_id(args[0])
    close()
    if not signatures:
        return Verdict(Outcome.UNKNOWN if seen_status else Outcome.UNSIGNED)
    for sig in signatures:
        if sig.outcome is not Outcome.GOOD:
            return Verdict(sig.outcome, tuple(signatures))
        if not sig.valid:  # GOODSIG without VALIDSIG: gpg did not finish the check
            return Verdict(Outcome.UNKNOWN, tuple(signatures))
    return Verdict(Outcome.GOOD, tuple(signatures))


def _long_id(value: str) -> str:
    text = value.strip().upper()
    return text[-16:] if _HEX.match(text) else text


def imported_fingerprints(text: str) -> list[str]:
    """Fingerprints of the keys an ``--import`` status output says it imported (or found
    unchanged): ``IMPORT_OK <reason> <fingerprint>``."""
    out = []
    for line in text.splitlines():
        if line.startswith(STATUS_PREFIX + "IMPORT_OK "):
            # IMPORT_OK <reason> <fingerprint>
            args = line[len(STATUS_PREFIX) :].split(" ")
            if len(args) >= 3 and _HEX.match(args[2].upper()):
                out.append(args[2].upper())
    return out


def colon_fingerprints(text: str) -> list[tuple[str, str]]:
    """(record type, fingerprint) of ``gpg --with-colons`` output: each ``fpr`` record belongs
    to the ``pub``/``sub`` record before it, so the pair says whether it is a primary key."""
    out: list[tuple[str, str]] = []
    owner = ""
    for line in text.splitlines():
        fields = line.split(":")
        if fields[0] in ("pub", "sub", "sec", "ssb"):
            owner = fields[0]
        elif fields[0] == "fpr" and len(fields) > 9 and fields[9]:
            out.append((owner, fields[9].upper()))
    return out
