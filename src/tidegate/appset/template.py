"""Render ApplicationSet templates with generated parameters (pure).

Two engines, as in Argo CD:

- fasttemplate (default): ``{{ key }}`` is replaced by the flat parameter ``key`` (surrounding
  spaces trimmed); an unknown key is left exactly as written.
- Go templates (``goTemplate: true``): each string is a text/template run against the nested
  parameters, through :mod:`tidegate.appset.gotemplate`.

Every string of the template is rendered: values and map keys, at any depth. Numbers and
booleans are left alone (only ``templatePatch`` can set them, see :mod:`.patch`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.appset import gotemplate

_Segments = tuple[tuple[bool, str], ...]  # (is_tag, text)


def _fast_segments(source: str) -> _Segments:
    parts: list[tuple[bool, str]] = []
    pos = 0
    while True:
        start = source.find("{{", pos)
        if start < 0:
            break
        end = source.find("}}", start + 2)
        if end < 0:
            break
        if start > pos:
            parts.append((False, source[pos:start]))
        parts.append((True, source[start + 2 : end]))
        pos = end + 2
    if pos < len(source):
        parts.append((False, source[pos:]))
    return tuple(parts)


class Renderer:
    """Renders strings and whole objects for one ApplicationSet; caches parsed templates."""

    def __init__(self, *, go_template: bool, options: Sequence[str] = ()) -> None:
        self.go_template = go_template
        self.templates = gotemplate.Templates(
            missingkey=gotemplate.missingkey_option(options)
            if go_template
            else gotemplate.MissingKey.DEFAULT
        )
        self._fast: dict[str, _Segments] = {}

    def render_string(self, source: str, params: Mapping[str, Any]) -> str:
        if "{{" not in source:
            return source
        if self.go_template:
            return self.templates.render(source, params)
        segments = self._fast.get(source)
        if segments is None:
            segments = self._fast[source] = _fast_segments(source)
        out: list[str] = []
        for is_tag, text in segments:
            if not is_tag:
                out.append(text)
                continue
            key = text.strip()
            value = params.get(key) if key else None
            out.append(value if isinstance(value, str) else "{{" + text + "}}")
        return "".join(out)

    def render(self, value: Any, params: Mapping[str, Any]) -> Any:
        """A copy of ``value`` with every string (keys included) rendered."""
        if isinstance(value, str):
            return self.render_string(value, params)
        if isinstance(value, Mapping):
            return {
                self.render_string(str(k), params): self.render(v, params) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.render(item, params) for item in value]
        return value
