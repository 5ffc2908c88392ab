"""A template rendered for one recipient: every string field through the Go-template engine
(:mod:`tidegate.appset.gotemplate`, the one the ApplicationSets use) (pure).

Template variables, as argocd-notifications documents them: ``.app``, ``.appProject``,
``.context``, ``.serviceType``, ``.recipient``, and ``.repo`` with ``RepoURLToHTTPS`` and
``FullNameByRepoURL`` for ``{{call .repo.RepoURLToHTTPS ...}}``. ``.secrets`` is not given:
a secret never reaches a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.appset import gotemplate
from tidegate.model import errors
from tidegate.notify import exprenv

_ENGINE = gotemplate.Templates()
REPO_FUNCTIONS = {
    "RepoURLToHTTPS": exprenv.repo_url_to_https,
    "FullNameByRepoURL": exprenv.full_name_by_repo_url,
}


def variables(
    app: Mapping[str, Any],
    project: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    *,
    service_type: str,
    recipient: str,
) -> dict[str, Any]:
    return {
        "app": app,
        "appProject": project or {},
        "context": context,
        "serviceType": service_type,
        "recipient": recipient,
        "repo": REPO_FUNCTIONS,
    }


def _render(value: Any, data: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, str):
        try:
            return _ENGINE.render(value, data)
        except errors.TemplateError as exc:
            raise errors.TemplateError(f"{where}: {exc}") from None
    if isinstance(value, Mapping):
        return {k: _render(v, data, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, data, where) for v in value]
    return value


def render(name: str, template: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The template's fields rendered (TemplateError naming the template and field)."""
    out = _render(template, data, f"template.{name}")
    assert isinstance(out, dict)
    out.setdefault("message", "")
    return out
