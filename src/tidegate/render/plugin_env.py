"""The environment a config management plugin runs with, exactly as Argo CD builds it (pure).

Nothing of the controller's own environment is passed: only a fixed ``PATH``, ``HOME`` and
``TMPDIR`` in the render's scratch directory, Argo CD's build environment (``ARGOCD_APP_*``,
``KUBE_VERSION``, ``KUBE_API_VERSIONS``), the app's ``plugin.env`` entries as
``ARGOCD_ENV_<name>`` (their values may reference the build environment, ``$VAR`` or
``${VAR}``, ``$$`` for a dollar, as Go's ``os.Expand``), and its parameters as
``ARGOCD_APP_PARAMETERS`` (JSON) and ``PARAM_<NAME>[_<KEY>|_<i>]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from tidegate.model import errors
from tidegate.render import request

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NOT_PARAM_CHAR = re.compile(r"[^A-Z0-9_]")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_SPECIAL = frozenset("*#$@!?-0123456789")


def build_env(req: request.RenderRequest) -> dict[str, str]:
    """Argo CD's standard build environment for ``req`` (repo-server ``newEnv``)."""
    revision = req.commit
    return {
        "ARGOCD_APP_NAME": req.app_name,
        "ARGOCD_APP_NAMESPACE": req.namespace,
        "ARGOCD_APP_PROJECT_NAME": req.project,
        "ARGOCD_APP_REVISION": revision,
        "ARGOCD_APP_REVISION_SHORT": revision[:7],
        "ARGOCD_APP_REVISION_SHORT_8": revision[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": req.repo_url,
        "ARGOCD_APP_SOURCE_PATH": req.path,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": req.target_revision,
        "KUBE_VERSION": (req.kube_version or "").replace("+", ""),
        "KUBE_API_VERSIONS": ",".join(req.api_versions),
    }


def _shell_name(text: str) -> tuple[str, int]:
    """Go's ``getShellName``: the variable name after a ``$`` and how many characters it took
    (``("", n>0)`` is bad syntax, eaten; ``("", 0)`` a lone ``$``)."""
    if text[0] == "{":
        if len(text) > 2 and text[1] in _SPECIAL and text[2] == "}":
            return text[1], 3
        end = text.find("}", 1)
        if end == 1:
            return "", 2
        if end < 0:
            return "", 1
        return text[1:end], end + 1
    if text[0] in _SPECIAL:
        return text[0], 1
    width = 0
    while width < len(text) and _NAME_CHAR.match(text[width]):
        width += 1
    return text[:width], width


def envsubst(value: str, env: Mapping[str, str]) -> str:
    """``value`` with ``$NAME``/``${NAME}`` replaced from ``env`` (unknown: empty), ``$$`` a
    dollar: Argo CD's ``Env.Envsubst`` (Go's ``os.Expand``)."""
    out: list[str] = []
    start = 0
    index = 0
    while index < len(value):
        if value[index] == "$" and index + 1 < len(value):
            out.append(value[start:index])
            name, width = _shell_name(value[index + 1 :])
            if not name and width == 0:
                out.append("$")
            elif name:
                out.append("$" if name == "$" else env.get(name, ""))
            index += width
            start = index + 1
        index += 1
    out.append(value[start:])
    return "".join(out)


def param_name(name: str) -> str:
    """A parameter name (or map key) as it appears in ``PARAM_*``: upper case, every
    character outside ``[A-Z0-9_]`` replaced by ``_``."""
    return _NOT_PARAM_CHAR.sub("_", name.upper())


def _go_json(value: object) -> str:
    """JSON as Go's ``json.Marshal`` writes it: sorted keys, compact, HTML characters escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def parameters_env(parameters: Sequence[request.PluginParameter]) -> dict[str, str]:
    """``ARGOCD_APP_PARAMETERS`` and the ``PARAM_*`` variables of the app's parameters."""
    entries: list[dict[str, object]] = []
    env: dict[str, str] = {}
    for parameter in parameters:
        entry: dict[str, object] = {"name": parameter.name}
        base = "PARAM_" + param_name(parameter.name)
        if parameter.string is not None:
            entry["string"] = parameter.string
            env[base] = parameter.string
        if parameter.map is not None:
            entry["map"] = dict(parameter.map)
            for key, value in sorted(parameter.map):
                env[f"{base}_{param_name(key)}"] = value
        if parameter.array is not None:
            entry["array"] = list(parameter.array)
            for position, value in enumerate(parameter.array):
                env[f"{base}_{position}"] = value
        entries.append(entry)
    return {"ARGOCD_APP_PARAMETERS": _go_json(entries), **env}


def _check(name: str, value: str, what: str) -> None:
    if not name or "=" in name or "\x00" in name:
        raise errors.RenderError(f"{what} {name!r}: a name must be non-empty, without '=' or NUL")
    if "\x00" in value:
        raise errors.RenderError(f"{what} {name!r}: the value contains a NUL byte")


def plugin_env(
    req: request.RenderRequest, options: request.PluginOptions, *, home: str, tmp: str
) -> dict[str, str]:
    """The whole environment of the plugin's commands for ``req``."""
    build = build_env(req)
    env = {"PATH": PATH, "HOME": home, "TMPDIR": tmp, **build}
    for name, value in options.env:
        _check(name, value, "plugin env")
        env[f"ARGOCD_ENV_{name}"] = envsubst(value, build)
    params = parameters_env(options.parameters)
    for name, value in params.items():
        _check(name, value, "plugin parameter")
    env.update(params)
    return env
