"""Config management plugin sources: Argo CD's sidecar plugins (v2), run as child processes.

*Selection* (as Argo CD's repo-server): ``plugin.name`` names a registered plugin (``<name>`` or
``<name>-<version>``); if that plugin has discovery rules they must match the source, otherwise
it is used as named. Without a name (``plugin: {}``), and for sources with no explicit type at
all (no ``directory``/``kustomize``/``helm``/``plugin`` key), the plugins *with* discovery rules
are tried in name order and the first that matches renders the source; for an untyped source
that none matches, Kustomize/Helm/Directory detection follows. Discovery: ``fileName`` (Go
``filepath.Glob`` relative to the source path), else ``find.glob`` (the same with ``**``), else
``find.command`` (matches when it exits 0 and prints something; it runs in the copy of the
source path, as in Argo CD's plugin server, and a failure is logged and counts as no match).

*Running*: the repository tree is copied (not linked: the plugin may write) into a scratch
directory, file modes reset to 0644 unless ``preserveFileMode``; ``init`` then ``generate`` run
there, in the copy of the source path, with the environment of :mod:`render.plugin_env` only,
argv exactly as written (no shell unless the plugin asks for one), under ONE deadline (the
render timeout) with the whole process group killed at it, stdout capped at the render's
byte budget (killed at the limit), and the stderr tail in the error. ``generate``'s stdout is
YAML or JSON (a stream of documents), parsed with the guarded loader of :mod:`render.manifests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import posixpath
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from tidegate.model import errors, globs
from tidegate.render import manifests, paths, plugin_env, process, request
from tidegate.render.plugin_config import PluginDefinition

log = logging.getLogger("tidegate.render.plugins")

MAX_DISCOVERY_ENTRIES = 100_000


def _shown(argv: Sequence[str]) -> str:
    text = " ".join(argv)
    return text if len(text) <= 80 else text[:77] + "..."


# -- discovery over the original (read-only) tree: globs only ----------------------------------


def _relative_pattern(pattern: str) -> str | None:
    """The pattern relative to the source path (Go ``filepath.Join`` cleans it); None when it
    points above the source path."""
    cleaned = posixpath.normpath(pattern.lstrip("/"))
    if cleaned == ".." or cleaned.startswith("../"):
        return None
    return cleaned


def _entries(top: Path, max_depth: int | None) -> list[str]:
    """Relative paths of the files and directories under ``top`` (symlinks not followed)."""
    out: list[str] = []
    stack: list[tuple[Path, str, int]] = [(top, "", 1)]
    while stack:
        directory, prefix, depth = stack.pop()
        try:
            with os.scandir(directory) as scan:
                found = sorted(scan, key=lambda e: e.name)
        except OSError:
            continue
        for entry in found:
            relative = prefix + entry.name
            out.append(relative)
            if len(out) > MAX_DISCOVERY_ENTRIES:
                return out
            if entry.is_dir(follow_symlinks=False) and (max_depth is None or depth < max_depth):
                stack.append((Path(entry.path), relative + "/", depth + 1))
    return out


def glob_matches(app_dir: Path, pattern: str, *, doublestar: bool) -> bool:
    """Whether anything under ``app_dir`` matches ``pattern`` (``fileName``: Go
    ``filepath.Glob``; ``find.glob``: the same with ``**`` spanning directories)."""
    relative = _relative_pattern(pattern)
    if relative is None:
        return False
    if relative == ".":
        return True
    segments = relative.split("/")
    deep = doublestar and "**" in segments
    entries = _entries(app_dir, None if deep else len(segments))
    match = globs.glob_match if doublestar else globs.path_match
    try:
        return any(match(relative, entry) for entry in entries)
    except errors.SpecError as exc:
        raise errors.RenderError(f"discovery pattern {pattern!r}: {exc}") from None


# -- the scratch copy --------------------------------------------------------------------------


def copy_tree(root: Path, dest: Path, *, preserve_mode: bool) -> None:
    """A writable copy of ``root`` (``.git`` left out) at ``dest``. Symlinks are recreated
    (the tree was checked: none leaves it); absolute ones are made relative to the copy."""
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        relative = here.relative_to(root)
        if relative == Path("."):
            dirnames[:] = [d for d in dirnames if d not in paths.SKIPPED_DIRS]
        target_dir = dest / relative
        target_dir.mkdir(mode=0o755, exist_ok=True)
        os.chmod(target_dir, 0o755)
        for name in [*dirnames, *filenames]:
            source = here / name
            if not source.is_symlink():
                continue
            link = os.readlink(source)
            if os.path.isabs(link):
                link = os.path.relpath(Path(link).resolve(), here.resolve())
            os.symlink(link, target_dir / name)
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
        for name in filenames:
            source = here / name
            if source.is_symlink() or not source.is_file():
                continue
            shutil.copyfile(source, target_dir / name)
            mode = (source.stat().st_mode & 0o777) | 0o600 if preserve_mode else 0o644
            os.chmod(target_dir / name, mode)


class Scratch:
    """One plugin render's scratch directory: the tree copy (made on first use), HOME, TMPDIR."""

    def __init__(self, root: Path, app_dir: Path, base: Path) -> None:
        self.root = root
        self.app_dir = app_dir
        self.base = base
        self.home = base / "home"
        self.tmp = base / "tmp"
        self.repo = base / "repo"
        self._copied: bool | None = None

    async def app_copy(self, *, preserve_mode: bool) -> Path:
        """The source path inside a fresh copy of the tree (one copy per file-mode setting)."""
        if self._copied is not preserve_mode:
            await self.discard()
            await asyncio.to_thread(copy_tree, self.root, self.repo, preserve_mode=preserve_mode)
            self._copied = preserve_mode
        return self.repo / self.app_dir.relative_to(self.root)

    async def discard(self) -> None:
        """Drop the copy (a discovery command ran in it): the next step gets a fresh one, as
        Argo CD sends every plugin call its own copy."""
        if self._copied is not None:
            await asyncio.to_thread(_remove, self.repo)
            self._copied = None

    def replacements(self) -> dict[str, str]:
        return {str(self.repo): "<repo>", str(self.base): "<scratch>", str(self.root): "<repo>"}


@contextlib.asynccontextmanager
async def scratch(root: Path, app_dir: Path) -> AsyncIterator[Scratch]:
    with tempfile.TemporaryDirectory(prefix="tidegate-plugin-", ignore_cleanup_errors=True) as name:
        made = Scratch(root, app_dir, Path(name))
        made.home.mkdir()
        made.tmp.mkdir()
        try:
            yield made
        finally:
            _make_removable(Path(name))


def _make_removable(top: Path) -> None:
    """A plugin may leave read-only directories behind."""
    for directory, _dirs, _files in os.walk(top):
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o700)


def _remove(top: Path) -> None:
    _make_removable(top)
    shutil.rmtree(top, ignore_errors=True)


# -- running -----------------------------------------------------------------------------------


class Runner:
    """Runs one render's plugin commands under one deadline and one output budget."""

    def __init__(
        self,
        req: request.RenderRequest,
        work: Scratch,
        *,
        limits: request.RenderLimits,
        budget: manifests.ByteBudget,
    ) -> None:
        self.req = req
        self.work = work
        self.limits = limits
        self.budget = budget
        self.options = req.plugin or request.PluginOptions()
        self.env = plugin_env.plugin_env(req, self.options, home=str(work.home), tmp=str(work.tmp))
        self.deadline = asyncio.get_running_loop().time() + limits.timeout_seconds

    def label(self, plugin: PluginDefinition) -> str:
        app = f"app {self.req.app_name}: " if self.req.app_name else ""
        return f"{app}plugin {plugin.name!r}"

    async def run(self, plugin: PluginDefinition, step: str, argv: Sequence[str]) -> bytes:
        what = f"{self.label(plugin)}: {step} command ({_shown(argv)})"
        cwd = await self.work.app_copy(preserve_mode=plugin.preserve_file_mode)
        remaining = self.deadline - asyncio.get_running_loop().time()
        timeout = self.limits.timeout_seconds
        if remaining <= 0:
            raise errors.RenderTimeoutError(
                f"{what}: not started, the render timeout of {timeout:g}s is spent"
            )
        try:
            return await process.run(
                argv,
                what=what,
                time_limit=remaining,
                max_stdout=max(self.limits.max_total_bytes - self.budget.used, 0),
                max_stderr=self.limits.max_stderr_bytes,
                env=self.env,
                cwd=cwd,
                replacements=self.work.replacements(),
            )
        except errors.RenderTimeoutError:
            raise errors.RenderTimeoutError(
                f"{what}: did not finish within the render timeout of {timeout:g}s "
                "(its process group was killed)"
            ) from None

    async def matches(self, plugin: PluginDefinition) -> bool:
        """Whether ``plugin``'s discovery rules match the source (first rule given decides)."""
        app_dir = self.work.app_dir
        if plugin.discover_file_name:
            return await asyncio.to_thread(
                glob_matches, app_dir, plugin.discover_file_name, doublestar=False
            )
        if plugin.discover_glob:
            return await asyncio.to_thread(
                glob_matches, app_dir, plugin.discover_glob, doublestar=True
            )
        if plugin.discover_command:
            try:
                found = await self.run(plugin, "discover find", plugin.discover_command)
            except errors.RenderError as exc:  # as Argo CD: a failing find is no match
                log.info("%s", exc)
                return False
            finally:
                await self.work.discard()
            return bool(found.strip())
        return False

    async def select(self, *, required: bool) -> PluginDefinition | None:
        """The plugin for this source, or None (only when not ``required``)."""
        name = self.options.name
        if name:
            named = [p for p in self.req.plugins if p.name == name]
            if not named:
                raise errors.RenderError(
                    f"app {self.req.app_name}: no config management plugin named {name!r} is "
                    "registered with the controller"
                )
            if named[0].discovers and not await self.matches(named[0]):
                raise errors.RenderError(
                    f"{self.label(named[0])}: its discovery rules do not match source path "
                    f"{self.req.path!r}"
                )
            return named[0]
        for plugin in self.req.plugins:
            if plugin.discovers and await self.matches(plugin):
                return plugin
        if required:
            raise errors.RenderError(
                f"app {self.req.app_name}: no registered config management plugin's discovery "
                f"rules match source path {self.req.path!r}"
            )
        return None

    async def generate(self, plugin: PluginDefinition) -> list[dict[str, Any]]:
        if plugin.init:
            await self.run(plugin, "init", plugin.init)
        output = await self.run(plugin, "generate", plugin.generate)
        where = f"{self.label(plugin)}: generate output"
        self.budget.take(len(output), where)
        text = manifests.decode(output, where=where)
        return await asyncio.to_thread(
            parse_output, text, where=where, max_alias_expansion=self.limits.max_alias_expansion
        )


def parse_output(text: str, *, where: str, max_alias_expansion: int) -> list[dict[str, Any]]:
    """Objects in a plugin's stdout: a YAML stream, or a stream of JSON values (objects or
    arrays of objects, separated by whitespace) as Kubernetes' YAML-or-JSON decoder reads."""
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return manifests.parse_yaml(text, where=where, max_alias_expansion=max_alias_expansion)
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    position = 0
    while position < len(stripped):
        try:
            value, end = decoder.raw_decode(stripped, position)
        except json.JSONDecodeError as exc:
            raise errors.ManifestError(
                f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        out.extend(manifests.parse_json(json.dumps(value), where=where))
        position = end
        while position < len(stripped) and stripped[position].isspace():
            position += 1
    return out


async def render_plugin(
    root: Path,
    app_dir: Path,
    *,
    req: request.RenderRequest,
    limits: request.RenderLimits,
    budget: manifests.ByteBudget,
) -> list[dict[str, Any]] | None:
    """The objects the chosen plugin generates; None when the source has no explicit type and
    no plugin's discovery rules match it (the caller then detects Kustomize/Helm/Directory)."""
    required = req.source_type is request.SourceType.PLUGIN
    async with scratch(root, app_dir) as work:
        runner = Runner(req, work, limits=limits, budget=budget)
        chosen = await runner.select(required=required)
        if chosen is None:
            return None
        return await runner.generate(chosen)


async def parameters_announcement(
    root: Path,
    app_dir: Path,
    *,
    req: request.RenderRequest,
    limits: request.RenderLimits = request.RenderLimits(),
) -> list[dict[str, Any]]:
    """The parameters the plugin chosen for ``req`` announces (Argo CD's app details): the
    output of ``parameters.dynamic.command`` (a JSON list) first, then ``parameters.static``."""
    budget = manifests.ByteBudget(limits.max_total_bytes)
    async with scratch(root, app_dir) as work:
        runner = Runner(req, work, limits=limits, budget=budget)
        chosen = await runner.select(required=True)
        assert chosen is not None
        announced: list[dict[str, Any]] = []
        if chosen.dynamic_parameters:
            output = await runner.run(chosen, "parameters dynamic", chosen.dynamic_parameters)
            where = f"{runner.label(chosen)}: parameters dynamic output"
            try:
                dynamic = json.loads(manifests.decode(output, where=where))
            except json.JSONDecodeError as exc:
                raise errors.RenderError(f"{where}: not JSON: {exc.msg}") from None
            if not isinstance(dynamic, list) or not all(isinstance(d, dict) for d in dynamic):
                raise errors.RenderError(f"{where}: expected a JSON list of announcements")
            announced.extend(dynamic)
        return announced + chosen.static_parameters
