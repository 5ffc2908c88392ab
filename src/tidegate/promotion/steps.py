"""The built-in promotion steps (I/O: git, files, the Application API, HTTP).

Each step takes its rendered ``config`` and returns its outputs. Steps are idempotent by
construction, which is what makes a promotion resumable after a crash: the runner starts a
resumed promotion again from a fresh clone, and a tree that already holds the change makes
``git-commit`` output the existing head (no second commit) and ``git-push`` a no-op.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tidegate import expr
from tidegate.kube import client as kube_client
from tidegate.model import constants, errors
from tidegate.model.keys import ResourceKey
from tidegate.promotion import edits
from tidegate.promotion import freight as freight_mod
from tidegate.sources import credentials as creds_mod
from tidegate.sources import gitcmd

AUTHORIZED_ANNOTATION = "kargo.akuity.io/authorized-stage"
ACTOR = "tidegate-promotion"


class StepError(errors.TidegateError):
    """A step failed; the message names the step and the cause."""


CredsLookup = Callable[[str], Awaitable[creds_mod.RepoCredentials | None]]


@dataclass
class StepContext:
    project: str  # the project's namespace
    stage: str
    promotion: str
    workdir: Path
    git: gitcmd.GitRunner
    creds: CredsLookup
    kube: kube_client.KubeClient
    freights: Sequence[Mapping[str, Any]]
    apps_namespace: str = "argocd"
    health_timeout: float = 300.0
    # Repository URL of each checkout path (for commit and push).
    checkouts: dict[str, str] = field(default_factory=dict)
    # Credentials of chart repositories (Secrets with cred-type helm), for helm-update-chart.
    helm_creds: CredsLookup | None = None
    # The forge's HTTP transport (None: the network) and git-wait-for-pr's shortest poll.
    http_transport: httpx.AsyncBaseTransport | None = None
    min_poll_seconds: float = 10.0

    def path(self, relative: object, what: str) -> Path:
        """``relative`` inside the work directory; anything escaping it is refused."""
        text = str(relative or "")
        if not text:
            raise StepError(f"{what}: path is required")
        target = (self.workdir / text).resolve()
        if not target.is_relative_to(self.workdir.resolve()):
            raise StepError(f"{what}: path {text!r} leaves the promotion's work directory")
        return target


Step = Callable[[StepContext, Mapping[str, Any]], Awaitable[dict[str, Any]]]


async def _git(ctx: StepContext, args: list[str], *, url: str, cwd: Path, what: str) -> str:
    creds = await ctx.creds(url)
    try:
        result = await ctx.git.run(args, url=url, creds=creds, what=what, cwd=cwd)
    except errors.SourceError as exc:
        raise StepError(str(exc)) from None
    return result.stdout.strip()


async def git_clone(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    url = str(config.get("repoURL") or "")
    if not url:
        raise StepError("git-clone: repoURL is required")
    commits: dict[str, str] = {}
    for checkout in config.get("checkout") or ():
        dest = ctx.path(checkout.get("path"), "git-clone")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        what = f"git-clone of {url} into {checkout.get('path')}"
        branch = str(checkout.get("branch") or "")
        ref = str(checkout.get("commit") or checkout.get("tag") or "")
        await _git(
            ctx,
            ["clone", "--quiet", "--no-checkout", url, str(dest)],
            url=url,
            cwd=ctx.workdir,
            what=what,
        )
        if branch:
            exists = await _git(
                ctx, ["ls-remote", "--heads", "origin", branch], url=url, cwd=dest, what=what
            )
            if exists:
                await _git(
                    ctx,
                    ["checkout", "--quiet", "-B", branch, f"origin/{branch}"],
                    url=url,
                    cwd=dest,
                    what=what,
                )
            elif checkout.get("create"):
                await _git(
                    ctx, ["checkout", "--quiet", "--orphan", branch], url=url, cwd=dest, what=what
                )
                await _git(
                    ctx,
                    ["rm", "-rf", "--quiet", "--ignore-unmatch", "."],
                    url=url,
                    cwd=dest,
                    what=what,
                )
            else:
                raise StepError(f"{what}: branch {branch!r} does not exist (set create: true)")
        elif ref:
            await _git(ctx, ["checkout", "--quiet", "--detach", ref], url=url, cwd=dest, what=what)
        else:
            await _git(ctx, ["checkout", "--quiet"], url=url, cwd=dest, what=what)
        head = (
            await _git(
                ctx, ["rev-parse", "--verify", "--quiet", "HEAD"], url=url, cwd=dest, what=what
            )
            if branch or ref
            else ""
        )
        ctx.checkouts[str(dest)] = url
        commits[str(checkout.get("as") or checkout.get("path"))] = head
    if not commits:
        raise StepError("git-clone: checkout needs at least one entry")
    return {"commits": commits}


async def git_clear(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    root = ctx.path(config.get("path"), "git-clear")
    for child in root.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    return {}


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise StepError(f"{what}: {path.name} does not exist") from None


async def kustomize_set_image(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    root = ctx.path(config.get("path"), "kustomize-set-image")
    target = next(
        (
            root / n
            for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
            if (root / n).exists()
        ),
        None,
    )
    if target is None:
        raise StepError(f"kustomize-set-image: no kustomization in {config.get('path')!r}")
    wanted = list(config.get("images") or ())
    if not wanted:  # every image of the Freight, by tag
        wanted = [
            {"image": i["repoURL"], "tag": i.get("tag", "")}
            for f in ctx.freights
            for i in freight_mod.images_of(f)
        ]
    resolved = []
    for image in wanted:
        item = {k: str(v) for k, v in image.items() if v is not None}
        if not item.get("tag") and not item.get("digest"):
            found = [
                i
                for f in ctx.freights
                for i in freight_mod.images_of(f)
                if i.get("repoURL") == item.get("image")
            ]
            if not found:
                raise StepError(
                    f"kustomize-set-image: image {item.get('image')!r} has no tag or digest and "
                    "is not in the Freight being promoted"
                )
            item["tag"] = str(found[0].get("tag") or "")
        resolved.append(item)
    what = f"kustomize-set-image: {config.get('path')}/{target.name}"
    try:
        target.write_text(edits.set_kustomize_images(_read(target, what), resolved, what))
    except edits.EditError as exc:
        raise StepError(str(exc)) from None
    shown = ", ".join(f"{i['image']}:{i.get('tag') or i.get('digest')}" for i in resolved)
    return {"commitMessage": f"Updated {config.get('path')} to use new image(s)\n\n{shown}"}


async def yaml_update(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    target = ctx.path(config.get("path"), "yaml-update")
    what = f"yaml-update: {config.get('path')}"
    updates = list(config.get("updates") or ())
    if not updates:
        raise StepError(f"{what}: updates is empty")
    try:
        target.write_text(edits.update_yaml(_read(target, what), updates, what))
    except edits.EditError as exc:
        raise StepError(str(exc)) from None
    shown = "\n".join(f"- {u.get('key')}: {u.get('value')}" for u in updates)
    return {"commitMessage": f"Updated {config.get('path')}\n\n{shown}"}


async def copy(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    src, dst = ctx.path(config.get("inPath"), "copy"), ctx.path(config.get("outPath"), "copy")
    if not src.exists():
        raise StepError(f"copy: {config.get('inPath')!r} does not exist")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True, symlinks=True)
    else:
        shutil.copy2(src, dst)
    return {}


def _repo_of(ctx: StepContext, path: Path, step: str) -> tuple[Path, str]:
    for root, url in ctx.checkouts.items():
        if path == Path(root) or path.is_relative_to(root):
            return Path(root), url
    raise StepError(f"{step}: {path.relative_to(ctx.workdir)} is not a checkout of git-clone")


async def git_commit(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    root, url = _repo_of(ctx, ctx.path(config.get("path"), "git-commit"), "git-commit")
    message = str(config.get("message") or "").strip()
    if not message:
        raise StepError("git-commit: message is required")
    what = f"git-commit in {config.get('path')}"
    await _git(ctx, ["add", "--all", "."], url=url, cwd=root, what=what)
    changed = await _git(ctx, ["status", "--porcelain"], url=url, cwd=root, what=what)
    if changed:
        author = ["-c", "user.name=Tidegate", "-c", "user.email=tidegate@localhost"]
        await _git(ctx, [*author, "commit", "--quiet", "-m", message], url=url, cwd=root, what=what)
    head = await _git(ctx, ["rev-parse", "HEAD"], url=url, cwd=root, what=what)
    return {"commit": head}


async def git_push(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    root, url = _repo_of(ctx, ctx.path(config.get("path"), "git-push"), "git-push")
    what = f"git-push of {config.get('path')}"
    branch = str(config.get("targetBranch") or "")
    if config.get("generateTargetBranch"):
        branch = f"kargo/promotion/{ctx.promotion}"
    if not branch:
        branch = await _git(
            ctx, ["rev-parse", "--abbrev-ref", "HEAD"], url=url, cwd=root, what=what
        )
    attempts = int(config.get("maxAttempts") or 10)
    for attempt in range(1, attempts + 1):
        try:
            await _git(
                ctx,
                ["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"],
                url=url,
                cwd=root,
                what=what,
            )
            break
        except StepError as exc:
            # Another promotion may have pushed to the branch meanwhile: take its commits and
            # try again. If the branch cannot even be fetched (credentials, a server that
            # refuses), the push error is the answer. The work directory is thrown away after
            # the promotion, so a refused push leaves no local commit behind.
            if attempt == attempts:
                raise StepError(f"{what}: the git server refused the push: {exc}") from None
            try:
                await _git(
                    ctx,
                    ["-c", "user.name=Tidegate", "-c", "user.email=tidegate@localhost",
                     "pull", "--quiet", "--rebase", "origin", branch],
                    url=url, cwd=root, what=what,
                )  # fmt: skip
            except StepError:
                raise StepError(f"{what}: the git server refused the push: {exc}") from None
    head = await _git(ctx, ["rev-parse", "HEAD"], url=url, cwd=root, what=what)
    return {"branch": branch, "commit": head}


def _app_key(ctx: StepContext, app: Mapping[str, Any]) -> ResourceKey:
    return ResourceKey(
        "argoproj.io",
        "Application",
        str(app.get("namespace") or ctx.apps_namespace),
        str(app.get("name") or ""),
    )


async def argocd_update(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    """Point each app at the desired revision, sync it there, wait until Synced and Healthy."""
    apps = list(config.get("apps") or ())
    if not apps:
        raise StepError("argocd-update: apps is empty")
    waits = []
    for app in apps:
        key = _app_key(ctx, app)
        if not key.name:
            raise StepError("argocd-update: each app needs a name")
        obj = await ctx.kube.get_or_none(key)
        if obj is None:
            raise StepError(f"argocd-update: Application {key.namespace}/{key.name} does not exist")
        allowed = ((obj.get("metadata") or {}).get("annotations") or {}).get(AUTHORIZED_ANNOTATION)
        if allowed != f"{ctx.project}:{ctx.stage}":
            raise StepError(
                f"argocd-update: Application {key.namespace}/{key.name} does not allow Stage "
                f"{ctx.stage} of project {ctx.project} to change it (annotation "
                f"{AUTHORIZED_ANNOTATION}: {ctx.project}:{ctx.stage} is missing)"
            )
        revision = ""
        spec_patch: dict[str, Any] = {}
        for source in app.get("sources") or ():
            revision = str(source.get("desiredRevision") or revision)
            if source.get("updateTargetRevision") and revision:
                spec_patch = {"source": {"targetRevision": revision}}
        sync: dict[str, Any] = {"syncStrategy": {"hook": {}}}
        if revision:
            sync["revision"] = revision
        patch: dict[str, Any] = {
            # A refresh too: the app's branch moved with the promotion's push, and its status
            # must be compared with the new head now, not at its next Git poll.
            "metadata": {"annotations": {constants.ANNOTATION_REFRESH: "normal"}},
            "operation": {
                "initiatedBy": {"username": ACTOR, "automated": False},
                "info": [{"name": "Reason", "value": f"Promotion {ctx.promotion}"}],
                "sync": sync,
            },
        }
        if spec_patch:
            patch["spec"] = spec_patch
        await ctx.kube.patch(key, patch)
        waits.append((key, revision))
    for key, revision in waits:
        await _wait_healthy(ctx, key, revision)
    return {"apps": [{"name": k.name} for k, _ in waits]}


def _degraded(app_status: Mapping[str, Any]) -> str:
    """What the app's Degraded resources say (``Deployment/web: ...``), joined."""
    return "; ".join(
        f"{r.get('kind')}/{r.get('name')}: {(r.get('health') or {}).get('message') or 'Degraded'}"
        for r in app_status.get("resources") or ()
        if (r.get("health") or {}).get("status") == "Degraded"
    )


def judge_app(obj: Mapping[str, Any], revision: str) -> tuple[str, str]:
    """Where an app stands after argocd-update asked for a sync at ``revision`` (pure):
    ``("done", "")``, ``("failed", why)`` or ``("waiting", what it shows now)``."""
    meta = obj.get("metadata") or {}
    where = f"Application {meta.get('namespace')}/{meta.get('name')}"
    status = obj.get("status") or {}
    sync, health = status.get("sync") or {}, status.get("health") or {}
    op = status.get("operationState") or {}
    at = str(sync.get("revision") or "")
    done = "operation" not in obj and op.get("phase") not in (None, "Running")
    if done and op.get("phase") in ("Failed", "Error"):
        phase = str(op.get("phase")).lower()
        return "failed", f"sync of {where} {phase}: {op.get('message', '')}"
    # Compared at the promoted revision: the health is then that of a refresh after our sync.
    # (Not the sync result's revision: the health beside it may predate the sync. An app whose
    # branch another Stage moved meanwhile waits out the timeout: a known gap.)
    at_revision = not revision or at == revision or at.startswith(revision)
    if done and sync.get("status") == "Synced" and at_revision:
        if health.get("status") == "Healthy":
            return "done", ""
        if health.get("status") == "Degraded":  # e.g. a Deployment past its deadline
            said = _degraded(status) or health.get("message") or "no message"
            return "failed", f"{where} is Degraded at {at[:12]}: {said}"
    return (
        "waiting",
        f"sync {sync.get('status')}, health {health.get('status')}, revision {at[:12]}",
    )


async def _wait_healthy(ctx: StepContext, key: ResourceKey, revision: str) -> None:
    deadline = time.monotonic() + ctx.health_timeout
    while True:
        verdict, detail = judge_app(await ctx.kube.get(key), revision)
        if verdict == "done":
            return
        if verdict == "failed":
            raise StepError(f"argocd-update: {detail}")
        if time.monotonic() > deadline:
            raise StepError(
                f"argocd-update: Application {key.namespace}/{key.name} was not Synced and "
                f"Healthy at {revision[:12] or 'its target'} within {ctx.health_timeout:g}s "
                f"(last: {detail})"
            )
        await asyncio.sleep(0.5)


async def http_step(ctx: StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    url = str(config.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise StepError(f"http: url {url!r} is not an http(s) URL")
    method = str(config.get("method") or "GET").upper()
    headers = {str(h.get("name")): str(h.get("value")) for h in config.get("headers") or ()}
    timeout = (
        float(config.get("timeout", "10s").rstrip("s") or 10)
        if isinstance(config.get("timeout", "10s"), str)
        else 10.0
    )
    try:
        async with httpx.AsyncClient(
            timeout=timeout, verify=not config.get("insecureSkipTLSVerify")
        ) as client:
            response = await client.request(
                method, url, headers=headers, content=str(config.get("body") or "") or None
            )
    except httpx.HTTPError as exc:
        raise StepError(f"http: {method} {url}: {type(exc).__name__}") from None
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:4096]
    env = {
        "response": {
            "status": response.status_code,
            "body": body,
            "headers": dict(response.headers),
        }
    }
    for key, want in (("failureExpression", True), ("successExpression", False)):
        source = config.get(key)
        if source:
            try:
                hit = expr.compile(str(source), names={"response"}).evaluate(env)
            except expr.ExprError as exc:
                raise StepError(f"http: {key}: {exc}") from None
            if bool(hit) is want:
                raise StepError(
                    f"http: {method} {url} answered {response.status_code}: {key} "
                    f"{'matched' if want else 'did not match'}"
                )
    if not config.get("successExpression") and response.status_code >= 400:
        raise StepError(f"http: {method} {url} answered HTTP {response.status_code}")
    outputs: dict[str, Any] = {}
    for out in config.get("outputs") or ():
        try:
            outputs[str(out.get("name"))] = expr.compile(
                str(out.get("fromExpression")), names={"response"}
            ).evaluate(env)
        except expr.ExprError as exc:
            raise StepError(f"http: output {out.get('name')!r}: {exc}") from None
    return outputs
