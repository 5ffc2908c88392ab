"""The ``git`` generator: ``directories`` (one set per matching directory) or ``files`` (the
flattened contents of JSON/YAML files, one set per file or per element of a YAML list)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

import yaml

from tidegate.appset import params, paths
from tidegate.appset.generators import clusters, context
from tidegate.model import errors

_MAX_FILE_BYTES = 1 << 20
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _path_params(
    directory: str, *, filename: str | None, prefix: str, go_template: bool
) -> params.Params:
    segments = directory.split("/") if directory else []
    basename = segments[-1] if segments else ""
    if go_template:
        info: dict[str, Any] = {
            "path": directory,
            "basename": basename,
            "basenameNormalized": paths.normalize(basename),
            "segments": segments,
        }
        if filename is not None:
            info["filename"] = filename
            info["filenameNormalized"] = paths.normalize(filename)
        return {prefix: {"path": info}} if prefix else {"path": info}
    key = f"{prefix}.path" if prefix else "path"
    flat = {
        key: directory,
        f"{key}.basename": basename,
        f"{key}.basenameNormalized": paths.normalize(basename),
    }
    flat.update({f"{key}[{i}]": segment for i, segment in enumerate(segments)})
    if filename is not None:
        flat[f"{key}.filename"] = filename
        flat[f"{key}.filenameNormalized"] = paths.normalize(filename)
    return flat


def _reader(spec: Mapping[str, Any], ctx: context.Context, where: str) -> tuple[str, str]:
    if ctx.git is None:
        raise errors.GeneratorError(f"{where}: no git reader was given to the generator")
    repo = spec.get("repoURL")
    if not repo:
        raise errors.GeneratorError(f"{where}.repoURL: required")
    return str(repo), str(spec.get("revision") or "HEAD")


def _directories(spec: Mapping[str, Any], ctx: context.Context, where: str) -> list[params.Params]:
    repo, revision = _reader(spec, ctx, where)
    assert ctx.git is not None
    rules = spec["directories"]
    include = [str(r.get("path", "")) for r in rules if not r.get("exclude")]
    exclude = [str(r.get("path", "")) for r in rules if r.get("exclude")]
    prefix = str(spec.get("pathParamPrefix") or "")
    out: list[params.Params] = []
    for directory in sorted({d.strip("/") for d in ctx.git.list_dirs(repo, revision)}):
        if not directory or paths.hidden(directory):
            continue
        if not any(paths.path_match(p, directory) for p in include):
            continue
        if any(paths.path_match(p, directory) for p in exclude):
            continue
        out.append(
            _path_params(directory, filename=None, prefix=prefix, go_template=ctx.go_template)
        )
    return out


def _load(path: str, data: bytes, where: str) -> list[Mapping[str, Any]]:
    if len(data) > _MAX_FILE_BYTES:
        raise errors.GeneratorError(f"{where}: {path}: file larger than {_MAX_FILE_BYTES} bytes")
    try:
        text = data.decode()
        # Aliases could expand exponentially once flattened: refuse them outright.
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=_Loader)):
            raise errors.GeneratorError(f"{where}: {path}: YAML aliases are not allowed")
        content = yaml.load(text, Loader=_Loader)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise errors.GeneratorError(f"{where}: {path}: not valid JSON/YAML: {exc}") from None
    items = content if isinstance(content, list) else [content if content is not None else {}]
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise errors.GeneratorError(
                f"{where}: {path}: element {index} must be an object, got {type(item).__name__}"
            )
    return items


def _files(spec: Mapping[str, Any], ctx: context.Context, where: str) -> list[params.Params]:
    repo, revision = _reader(spec, ctx, where)
    assert ctx.git is not None
    rules = spec["files"]
    exclude = [str(r.get("path", "")) for r in rules if r.get("exclude")]
    found: dict[str, bytes] = {}
    for rule in rules:
        if not rule.get("exclude"):
            found.update(ctx.git.read_files(repo, revision, str(rule.get("path", ""))))
    prefix = str(spec.get("pathParamPrefix") or "")
    out: list[params.Params] = []
    for path in sorted(found):
        clean = path.strip("/")
        if any(paths.glob_match(p, clean) for p in exclude):
            continue
        directory, filename = posixpath.split(clean)
        path_info = _path_params(
            directory, filename=filename, prefix=prefix, go_template=ctx.go_template
        )
        for item in _load(clean, found[path], where):
            if ctx.go_template:
                out.append(params.deep_merge(item, path_info))
            else:
                out.append({**params.flatten(item), **path_info})
    return out


def generate(spec: Mapping[str, Any], *, ctx: context.Context, where: str) -> list[params.Params]:
    has_dirs, has_files = bool(spec.get("directories")), bool(spec.get("files"))
    if has_dirs == has_files:
        raise errors.GeneratorError(f"{where}: exactly one of directories or files is required")
    out = _directories(spec, ctx, where) if has_dirs else _files(spec, ctx, where)
    if spec.get("values"):
        out = [clusters.add_values(item, spec["values"], ctx=ctx, where=where) for item in out]
    return out
