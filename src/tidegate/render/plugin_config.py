"""Config management plugins as Argo CD declares them: ``ConfigManagementPlugin`` files.

A plugin file (Argo CD's sidecar ``plugin.yaml``, unchanged)::

    apiVersion: argoproj.io/v1alpha1
    kind: ConfigManagementPlugin
    metadata: {name: cue}
    spec:
      version: v1.0                      # optional: the plugin is then named "cue-v1.0"
      init: {command: [sh, -c], args: ["cue mod tidy"]}
      generate: {command: [sh, -c, "cue export --out yaml"]}
      discover: {fileName: "*.cue"}      # or find: {glob: "**/*.cue"} | find: {command: [...]}
      parameters:
        static: [{name: env, string: dev}]
        dynamic: {command: [sh, -c, "echo '[]'"]}
      preserveFileMode: false
      lockRepo: false

:func:`parse_plugin` turns one file's text into a :class:`PluginDefinition` (pure); the
:class:`PluginRegistry` loads a directory of them and reloads it when a file changes. A file
that cannot be used is logged with the file and the cause and skipped; the others load.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tidegate.model import errors
from tidegate.render import manifests

log = logging.getLogger("tidegate.render.plugins")

KIND = "ConfigManagementPlugin"
MAX_FILE_BYTES = 1024 * 1024
_SUFFIXES = (".yaml", ".yml")


@dataclasses.dataclass(frozen=True)
class PluginDefinition:
    """One registered plugin. Commands are argv lists (``command`` + ``args``), run as given.
    ``digest`` is the SHA-256 of the file, so render cache keys change when the file does."""

    name: str
    file: str
    digest: str
    generate: tuple[str, ...]
    init: tuple[str, ...] = ()
    discover_file_name: str = ""
    discover_glob: str = ""
    discover_command: tuple[str, ...] = ()
    static_parameters_json: str = "[]"
    dynamic_parameters: tuple[str, ...] = ()
    preserve_file_mode: bool = False
    lock_repo: bool = False
    # Settings accepted for compatibility that change nothing here (logged at load).
    ignored: tuple[str, ...] = ()

    @property
    def discovers(self) -> bool:
        """Whether the plugin has discovery rules (without them it is only used by name)."""
        return bool(self.discover_file_name or self.discover_glob or self.discover_command)

    @property
    def static_parameters(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.static_parameters_json)
        return loaded


def _field(mapping: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = mapping.get(key)
    if value is not None and not isinstance(value, kind):
        raise errors.ConfigError(f"{where}.{key}: must be a {kind.__name__}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.ConfigError(f"{where}: must be a list of strings")
    return tuple(value)


def _command(spec: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """``command`` + ``args`` of ``spec[key]`` as one argv (empty when absent)."""
    block = _field(spec, key, dict, where) or {}
    argv = _strings(block.get("command"), f"{where}.{key}.command")
    args = _strings(block.get("args"), f"{where}.{key}.args")
    if args and not argv:
        raise errors.ConfigError(f"{where}.{key}: args without a command")
    return argv + args


def _static_parameters(value: Any, where: str) -> str:
    if value is None:
        return "[]"
    if not isinstance(value, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"] for p in value
    ):
        raise errors.ConfigError(f"{where}: must be a list of announcements, each with a name")
    return json.dumps(value, sort_keys=True)


def parse_plugin(text: str, *, file: str) -> PluginDefinition:
    """The plugin declared in ``text`` (the file's content); ``ConfigError`` naming the file
    and the field otherwise."""
    docs = [
        d
        for d in manifests.load_yaml_documents(text, where=file, max_alias_expansion=10_000)
        if d is not None
    ]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise errors.ConfigError(f"{file}: expected one ConfigManagementPlugin object")
    doc: dict[str, Any] = docs[0]
    if doc.get("kind") != KIND:
        raise errors.ConfigError(f"{file}: kind should be {KIND}, found {doc.get('kind')!r}")
    metadata = _field(doc, "metadata", dict, file) or {}
    name = _field(metadata, "name", str, f"{file}: metadata") or ""
    if not name:
        raise errors.ConfigError(f"{file}: metadata.name should be non-empty")
    spec = _field(doc, "spec", dict, file) or {}
    where = f"{file}: spec"
    version = _field(spec, "version", str, where) or ""
    generate = _command(spec, "generate", where)
    if not generate:
        raise errors.ConfigError(f"{file}: spec.generate.command should be non-empty")
    discover = _field(spec, "discover", dict, where) or {}
    find = _field(discover, "find", dict, f"{where}.discover") or {}
    parameters = _field(spec, "parameters", dict, where) or {}
    ignored = tuple(
        f"spec.{key}: {why}"
        for key, why in (
            ("provideGitCreds", "plugins never receive credentials"),
            ("allowConcurrency", "every render has its own copy of the tree"),
            ("lockRepo", "every render has its own copy of the tree"),
        )
        if spec.get(key)
    )
    return PluginDefinition(
        name=f"{name}-{version}" if version else name,
        file=file,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        generate=generate,
        init=_command(spec, "init", where),
        discover_file_name=_field(discover, "fileName", str, f"{where}.discover") or "",
        discover_glob=_field(find, "glob", str, f"{where}.discover.find") or "",
        discover_command=_command(discover, "find", f"{where}.discover"),
        static_parameters_json=_static_parameters(
            parameters.get("static"), f"{where}.parameters.static"
        ),
        dynamic_parameters=_command(parameters, "dynamic", f"{where}.parameters"),
        preserve_file_mode=bool(_field(spec, "preserveFileMode", bool, where)),
        lock_repo=bool(_field(spec, "lockRepo", bool, where)),
        ignored=ignored,
    )


def default_directory() -> Path:
    """``$TIDEGATE_PLUGIN_DIR``, else ``<user config dir>/tidegate/plugins``
    (``~/.config/tidegate/plugins`` on Linux)."""
    import platformdirs

    given = os.environ.get("TIDEGATE_PLUGIN_DIR")
    return Path(given) if given else Path(platformdirs.user_config_dir("tidegate")) / "plugins"


class PluginRegistry:
    """The plugins declared by the ``*.yaml``/``*.yml`` files directly in ``directory``.

    Loaded when made; :meth:`current` re-reads the directory when a file was added, removed or
    changed (a ``stat`` of each file per call: microseconds for a handful of plugins), so a
    plugin is registered, changed or removed without restarting the controller. Files are read
    in name order; a file naming a plugin already declared by an earlier file is refused.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._plugins: tuple[PluginDefinition, ...] = ()
        self.current()  # loaded (and bad files reported) at start, not at the first render

    def _files(self) -> list[Path]:
        if self.directory is None or not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.suffix in _SUFFIXES and p.is_file())

    def _stat(self, files: list[Path]) -> tuple[tuple[str, int, int], ...]:
        out: list[tuple[str, int, int]] = []
        for file in files:
            try:
                info = file.stat()
            except OSError:
                continue
            out.append((file.name, info.st_mtime_ns, info.st_size))
        return tuple(out)

    def current(self) -> tuple[PluginDefinition, ...]:
        """The registered plugins, sorted by name (the order discovery tries them in)."""
        files = self._files()
        stamp = self._stat(files)
        if stamp != self._stamp:
            self._stamp = stamp
            self._plugins = self._load(files)
        return self._plugins

    def _load(self, files: list[Path]) -> tuple[PluginDefinition, ...]:
        found: dict[str, PluginDefinition] = {}
        for file in files:
            try:
                if file.stat().st_size > MAX_FILE_BYTES:
                    raise errors.ConfigError(f"{file}: larger than {MAX_FILE_BYTES} bytes")
                text = file.read_text(encoding="utf-8")
                plugin = parse_plugin(text, file=str(file))
            except (OSError, UnicodeDecodeError) as exc:
                log.error("plugin file %s skipped: cannot be read: %s", file, exc)
                continue
            except errors.TidegateError as exc:
                log.error("plugin file %s skipped: %s", file, exc)
                continue
            if plugin.name in found:
                log.error(
                    "plugin file %s skipped: plugin %r is already declared by %s",
                    file,
                    plugin.name,
                    found[plugin.name].file,
                )
                continue
            for setting in plugin.ignored:
                log.warning("plugin file %s: %s is ignored: %s", file, *setting.split(": ", 1))
            found[plugin.name] = plugin
        if files or found:
            log.info("config management plugins: %s", ", ".join(sorted(found)) or "none")
        return tuple(found[name] for name in sorted(found))
