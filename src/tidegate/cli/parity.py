"""What of argocd's command line Tidegate does not have (yet), as data, and the two behaviours
built on it: deliberately unsupported flags are accepted with a notice (never silently
ignored), and an unknown flag is answered with the closest flag of that command, argocd's
included.

The reference is argocd's own command list (tests/cli/testdata/argocd-cli-*.txt: 97 commands,
576 flags). ``tests/cli/test_cli_parity.py`` pins today's coverage: every argocd command and
flag is either in Tidegate's command tree or listed here, and nothing listed here exists —
so implementing a flag means deleting its line below, and losing one fails the test.
Pure: no I/O, no import beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

# argocd flags Tidegate accepts but deliberately does not act on: (command, flag) ->
# (reason, takes a value). Given, they print a notice on stderr and are dropped.
_CLOUD = "cloud-provider authentication is not supported (use a token, password or key)"
_PROXY = "repository proxies are not supported (set HTTPS_PROXY for git itself)"
UNSUPPORTED: dict[tuple[str, str], tuple[str, bool]] = {
    **{
        (cmd, flag): (_CLOUD, flag != "--use-azure-workload-identity")
        for cmd in ("repo add", "repocreds add")
        for flag in (
            "--azure-active-directory-endpoint",
            "--azure-service-principal-client-id",
            "--azure-service-principal-client-secret",
            "--azure-service-principal-tenant-id",
            "--gcp-service-account-key-path",
            "--use-azure-workload-identity",
        )
    },
    ("repo add", "--proxy"): (_PROXY, True),
    ("repo add", "--no-proxy"): (_PROXY, True),
    ("app wait", "--hydrated"): ("the source hydrator is not supported", False),
    **{
        (cmd, "--env"): ("ksonnet environments: ksonnet support was removed from argocd", True)
        for cmd in ("app create", "app set", "app add-source")
    },
}

# Not implemented yet. A line is a whole command, or "command<TAB>flag" of a command that
# exists. Keep sorted by command.
NOT_YET_TEXT = """\
"""


def not_yet() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The missing commands, and the missing flags of each existing command."""
    commands: set[str] = set()
    flags: dict[str, set[str]] = {}
    for line in NOT_YET_TEXT.splitlines():
        cmd, _, flag = line.partition("\t")
        if flag:
            flags.setdefault(cmd, set()).add(flag)
        elif cmd:
            commands.add(cmd)
    return frozenset(commands), {c: frozenset(f) for c, f in flags.items()}


def argocd_flags_of(command: str) -> frozenset[str]:
    """Argocd's flags of ``command`` that Tidegate lacks (not yet, or deliberately)."""
    _, flags = not_yet()
    return flags.get(command, frozenset()) | {f for c, f in UNSUPPORTED if c == command}


def strip_unsupported(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """``args`` without the deliberately unsupported flags of the command they name (and their
    values), plus one notice per dropped flag."""
    words = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    command = next(
        (" ".join(words[:n]) for n in range(len(words), 0, -1)
         if any(c == " ".join(words[:n]) for c, _ in UNSUPPORTED)),
        None,
    )  # fmt: skip
    if command is None:
        return list(args), []
    kept: list[str] = []
    notices: list[str] = []
    skip_value = False
    for i, arg in enumerate(args):
        if skip_value:
            skip_value = False
            continue
        if arg == "--":
            kept.extend(args[i:])
            break
        flag, eq, _ = arg.partition("=")
        entry = UNSUPPORTED.get((command, flag))
        if entry is None:
            kept.append(arg)
            continue
        reason, takes_value = entry
        skip_value = takes_value and not eq
        notices.append(f"{flag} (argocd {command}) is not supported by tidegate: {reason}; "
                       "the flag is ignored")  # fmt: skip
    return kept, notices


def unknown_flag_message(command: str, option: str, own: Iterable[str]) -> str:
    """The error for ``option``, unknown to ``command``: the closest of Tidegate's flags of the
    command and argocd's, saying which are argocd's only."""
    theirs = argocd_flags_of(command)
    if option in theirs:
        return (f"No such option: {option}. It is argocd's flag of '{command}', "
                "not implemented by tidegate yet (docs/cli.md).")  # fmt: skip
    import difflib

    candidates = sorted(set(own) | theirs)
    close = difflib.get_close_matches(option, candidates, n=1, cutoff=0.6)
    if not close:
        return f"No such option: {option}"
    hint = " (argocd's, not implemented by tidegate yet)" if close[0] in theirs else ""
    return f"No such option: {option}. Did you mean {close[0]}{hint}?"


def coverage(
    commands: Sequence[str], flags: Sequence[tuple[str, str]], tree: Mapping[str, frozenset[str]]
) -> dict[str, object]:
    """Argocd's ``commands``/``flags`` measured against Tidegate's ``tree`` (command path ->
    its long flags): covered counts, and what is neither covered nor listed as a gap (lost) or
    listed but present (stale list)."""
    missing_cmds, missing_flags = not_yet()
    have_cmds = [c for c in commands if c in tree]
    have_flags = [(c, f) for c, f in flags if f in tree.get(c, frozenset())]
    listed = set(UNSUPPORTED) | {(c, f) for c, fs in missing_flags.items() for f in fs}
    lost_cmds = [c for c in commands if c not in tree and c not in missing_cmds]
    lost_flags = [
        (c, f) for c, f in flags
        if c in tree and f not in tree[c] and (c, f) not in listed
    ]  # fmt: skip
    stale = sorted(c for c in missing_cmds if c in tree) + sorted(
        f"{c} {f}" for c, f in listed if f in tree.get(c, frozenset())
    )
    return {
        "commands": (len(have_cmds), len(commands)),
        "flags": (len(have_flags), len(flags)),
        "lost_commands": lost_cmds,
        "lost_flags": lost_flags,
        "stale": stale,
        "unsupported": len(UNSUPPORTED),
    }
