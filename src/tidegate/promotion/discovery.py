"""Choosing artifact versions for a Warehouse subscription (pure; the listing is I/O elsewhere).

Image tags by ``imageSelectionStrategy``: ``SemVer`` (the default: tags that are semantic
versions, newest first, within ``constraint``), ``Lexical`` (newest by string order),
``NewestBuild`` (newest by creation time, which the caller reads from the registry) and
``Digest`` (``constraint`` names one mutable tag, tracked by digest). ``allowTagsRegexes`` and
``ignoreTagsRegexes`` filter first; ``discoveryLimit`` (default 20) bounds the answer. Bad input
(a constraint that does not parse, a regex that does not compile, an unknown strategy) raises
:class:`SubscriptionError` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidegate.model import errors
from tidegate.sources import semver

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
IMAGE_STRATEGIES = ("SemVer", "Lexical", "NewestBuild", "Digest")
GIT_STRATEGIES = ("NewestFromBranch", "SemVer", "Lexical", "NewestTag")


class SubscriptionError(errors.TidegateError):
    """A Warehouse subscription Tidegate cannot follow."""


@dataclass(frozen=True)
class ImagePolicy:
    repo_url: str
    strategy: str
    constraint: str
    allow: tuple[re.Pattern[str], ...]
    ignore: tuple[re.Pattern[str], ...]
    limit: int
    strict: bool

    def selects(self, tag: str) -> bool:
        if self.allow and not any(p.search(tag) for p in self.allow):
            return False
        return not any(p.search(tag) for p in self.ignore)


def _regexes(spec: Mapping[str, Any], key: str, where: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for raw in spec.get(key) or ():
        try:
            out.append(re.compile(str(raw)))
        except re.error as exc:
            raise SubscriptionError(
                f"{where}: {key} {raw!r} is not a regular expression: {exc}"
            ) from None
    return tuple(out)


def _limit(spec: Mapping[str, Any], where: str, default: int = DEFAULT_LIMIT) -> int:
    raw = spec.get("discoveryLimit", default)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= MAX_LIMIT:
        raise SubscriptionError(f"{where}: discoveryLimit must be 1..{MAX_LIMIT}, got {raw!r}")
    return raw


def _constraint(text: str, where: str, field: str) -> None:
    try:
        semver.parse_constraint(text)
    except errors.TidegateError as exc:
        raise SubscriptionError(f"{where}: {field} {text!r} does not parse: {exc}") from None


def image_policy(sub: Mapping[str, Any], where: str) -> ImagePolicy:
    """Check an ``image`` subscription; ``where`` names it in messages."""
    repo = str(sub.get("repoURL") or "")
    if not repo:
        raise SubscriptionError(f"{where}: repoURL is required")
    strategy = str(sub.get("imageSelectionStrategy") or "SemVer")
    if strategy not in IMAGE_STRATEGIES:
        raise SubscriptionError(
            f"{where}: imageSelectionStrategy {strategy!r} is not one of "
            + ", ".join(IMAGE_STRATEGIES)
        )
    constraint = str(sub.get("constraint") or sub.get("semverConstraint") or "")
    if strategy == "SemVer" and constraint:
        _constraint(constraint, where, "constraint")
    if strategy == "Digest" and not constraint:
        raise SubscriptionError(f"{where}: the Digest strategy needs constraint (the tag to track)")
    return ImagePolicy(
        repo_url=repo,
        strategy=strategy,
        constraint=constraint,
        allow=_regexes(sub, "allowTagsRegexes", where),
        ignore=_regexes(sub, "ignoreTagsRegexes", where),
        limit=_limit(sub, where),
        strict=bool(sub.get("strictSemvers", True)),
    )


def _is_strict(tag: str) -> bool:
    version = semver.parse_version(tag)
    return version is not None and tag.lstrip("v").count(".") == 2


def select_tags(
    policy: ImagePolicy, tags: Sequence[str], created: Mapping[str, str] | None = None
) -> list[str]:
    """The tags the policy selects, best first, at most ``limit`` of them."""
    candidates = [t for t in dict.fromkeys(tags) if policy.selects(t)]
    if policy.strategy == "Digest":
        return [policy.constraint] if policy.constraint in candidates else []
    if policy.strategy == "Lexical":
        return sorted(candidates, reverse=True)[: policy.limit]
    if policy.strategy == "NewestBuild":
        when = created or {}
        return sorted(candidates, key=lambda t: (when.get(t, ""), t), reverse=True)[: policy.limit]
    versions = []
    wanted = semver.parse_constraint(policy.constraint) if policy.constraint else None
    for tag in candidates:
        version = semver.parse_version(tag)
        if version is None or (policy.strict and not _is_strict(tag)):
            continue
        if wanted is not None and not wanted.admits(version):
            continue
        versions.append((version, tag))
    versions.sort(reverse=True)
    return [tag for _, tag in versions[: policy.limit]]


@dataclass(frozen=True)
class ChartPolicy:
    repo_url: str
    name: str
    constraint: str
    limit: int


def chart_policy(sub: Mapping[str, Any], where: str) -> ChartPolicy:
    repo = str(sub.get("repoURL") or "")
    if not repo:
        raise SubscriptionError(f"{where}: repoURL is required")
    name = str(sub.get("name") or "")
    if not name and not repo.startswith("oci://"):
        raise SubscriptionError(f"{where}: name is required for a chart repository")
    constraint = str(sub.get("semverConstraint") or "")
    if constraint:
        _constraint(constraint, where, "semverConstraint")
    return ChartPolicy(repo, name, constraint, _limit(sub, where))


def select_versions(policy: ChartPolicy, versions: Sequence[str]) -> list[str]:
    wanted = semver.parse_constraint(policy.constraint) if policy.constraint else None
    parsed = []
    for text in dict.fromkeys(versions):
        version = semver.parse_version(text)
        if version is None or (wanted is not None and not wanted.admits(version)):
            continue
        parsed.append((version, text))
    parsed.sort(reverse=True)
    return [text for _, text in parsed[: policy.limit]]


@dataclass(frozen=True)
class GitPolicy:
    repo_url: str
    branch: str
    strategy: str
    constraint: str
    allow: tuple[re.Pattern[str], ...]
    ignore: tuple[re.Pattern[str], ...]
    include_paths: tuple[str, ...]
    exclude_paths: tuple[str, ...]
    limit: int


def git_policy(sub: Mapping[str, Any], where: str) -> GitPolicy:
    repo = str(sub.get("repoURL") or "")
    if not repo:
        raise SubscriptionError(f"{where}: repoURL is required")
    strategy = str(sub.get("commitSelectionStrategy") or "NewestFromBranch")
    if strategy not in GIT_STRATEGIES:
        raise SubscriptionError(
            f"{where}: commitSelectionStrategy {strategy!r} is not one of "
            + ", ".join(GIT_STRATEGIES)
        )
    constraint = str(sub.get("semverConstraint") or "")
    if strategy == "SemVer" and constraint:
        _constraint(constraint, where, "semverConstraint")
    return GitPolicy(
        repo_url=repo,
        branch=str(sub.get("branch") or ""),
        strategy=strategy,
        constraint=constraint,
        allow=_regexes(sub, "allowTagsRegexes", where),
        ignore=_regexes(sub, "ignoreTagsRegexes", where),
        include_paths=tuple(str(p) for p in sub.get("includePaths") or ()),
        exclude_paths=tuple(str(p) for p in sub.get("excludePaths") or ()),
        limit=_limit(sub, where),
    )


def select_git_tags(policy: GitPolicy, tags: Sequence[str]) -> list[str]:
    """Tags for the tag strategies (SemVer, Lexical; NewestTag is ordered by the caller)."""
    image_like = ImagePolicy(
        policy.repo_url, "SemVer" if policy.strategy == "SemVer" else "Lexical",
        policy.constraint, policy.allow, policy.ignore, policy.limit, strict=False,
    )  # fmt: skip
    if policy.strategy == "NewestTag":
        return [t for t in tags if image_like.selects(t)][: policy.limit]
    return select_tags(image_like, tags)


def path_matters(policy: GitPolicy, changed: Sequence[str]) -> bool:
    """Whether a commit touching ``changed`` paths counts (include/exclude path filters;
    entries are path prefixes, or ``glob:``/``regex:`` patterns as Kargo allows)."""

    def hit(path: str, patterns: tuple[str, ...]) -> bool:
        for pattern in patterns:
            if pattern.startswith("regex:") or pattern.startswith("regexp:"):
                if re.search(pattern.split(":", 1)[1], path):
                    return True
            elif pattern.startswith("glob:"):
                import fnmatch

                if fnmatch.fnmatch(path, pattern[5:]):
                    return True
            elif path == pattern or path.startswith(pattern.rstrip("/") + "/"):
                return True
        return False

    kept = [p for p in changed if not policy.include_paths or hit(p, policy.include_paths)]
    return any(not hit(p, policy.exclude_paths) for p in kept)
