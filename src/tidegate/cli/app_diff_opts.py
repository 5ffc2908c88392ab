"""argocd's comparison flags of ``app diff`` and ``app sync`` (whose ``--preview-changes`` shows
the same diff), and what each bounds in Tidegate's comparison (:mod:`tidegate.controller.compare`,
the controller's own, run by the CLI):

- ``--ignore-normalizer-jq-execution-timeout D`` (a Go duration, argocd's default ``1s``): how
  long one ``ignoreDifferences`` jq expression may run in the jq sandbox before the comparison
  fails naming it. Default: argocd-cm ``ignore.normalizer.jq.timeout``, as the controller reads
  it.
- ``--server-side-diff[=true|false]``: Tidegate's diff is a server-side one already (each target
  is applied with ``dryRun=All`` and the prediction is compared with live); ``false`` compares
  the desired objects with live without those dry runs (argocd's client-side diff).
- ``--server-side-diff-concurrency N``: how many of those dry runs run at once (argocd: -1
  means unlimited, the default here is the controller's 8).
- ``--server-side-diff-max-batch-kb N``: argocd groups objects into batches of at most N KB for
  its ServerSideDiff call; Tidegate sends one object per dry-run request, so every request is
  one object whatever N is. The value is checked (a positive number) and otherwise has no
  effect.

Only typer at import time.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer

from tidegate.cli import output

if TYPE_CHECKING:
    from tidegate.controller import local_compare

JqTimeout = Annotated[
    str | None,
    typer.Option(
        "--ignore-normalizer-jq-execution-timeout",
        metavar="DURATION",
        help="How long one ignoreDifferences jq expression may run (default: argocd-cm's, 1s).",
    ),
]
ServerSideDiff = Annotated[
    str,
    typer.Option(
        "--server-side-diff",
        metavar="true|false",
        help="Predict live objects with server-side dry runs (Tidegate's default: true).",
    ),
]
Concurrency = Annotated[
    int,
    typer.Option(
        "--server-side-diff-concurrency",
        help="Dry runs at once for the server-side diff (-1: unlimited; default 8).",
    ),
]
MaxBatchKb = Annotated[
    int,
    typer.Option(
        "--server-side-diff-max-batch-kb",
        help="argocd's batch size; Tidegate sends one object per dry run (checked, no effect).",
    ),
]
DEFAULT_CONCURRENCY = 8
DEFAULT_BATCH_KB = 250


@dataclasses.dataclass(frozen=True)
class Tuning:
    jq_timeout: float | None = None
    server_side: bool = True
    concurrency: int = DEFAULT_CONCURRENCY


def parse(
    *, jq_timeout: str | None, server_side_diff: str = "true", concurrency: int, batch_kb: int
) -> Tuning:
    """The flags checked; a usage error (exit 2) naming the flag otherwise."""
    from tidegate.cli import app_common, appspec
    from tidegate.model import durations, errors

    seconds = None
    jq_flag = "--ignore-normalizer-jq-execution-timeout"
    if jq_timeout is not None:
        try:
            seconds = durations.parse(jq_timeout)
        except errors.SpecError as exc:
            raise output.fail(f"{jq_flag}: {exc}", 2) from None
        if seconds <= 0:
            raise output.fail(f"{jq_flag}: {jq_timeout!r} must be longer than 0", 2)
    try:
        server_side = app_common.parse_bool(server_side_diff, "--server-side-diff")
    except appspec.FlagError as exc:
        raise output.fail(str(exc), 2) from None
    if concurrency == 0 or concurrency < -1:
        raise output.fail(
            f"--server-side-diff-concurrency: {concurrency} is not -1 (unlimited) or a"
            " positive number",
            2,
        )
    if batch_kb <= 0:
        raise output.fail(
            f"--server-side-diff-max-batch-kb: {batch_kb} is not a positive number", 2
        )
    unlimited = 1 << 16
    return Tuning(seconds, server_side, unlimited if concurrency == -1 else concurrency)


def apply(ctx: local_compare.Context, tuning: Tuning) -> None:
    """Set the comparison's bounds on the opened context."""
    if tuning.jq_timeout is not None:
        ctx.deps.jq.timeout = tuning.jq_timeout
    ctx.deps.server_side_diff = tuning.server_side
    ctx.deps.dry_run_concurrency = tuning.concurrency
