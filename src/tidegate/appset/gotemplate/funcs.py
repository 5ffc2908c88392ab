"""The template functions: Go's builtins plus the Sprig and Argo CD functions ApplicationSets use.

Argument orders follow Sprig (the piped value comes last: ``replace old new s``). A function
missing from :data:`FUNCTIONS` is reported by name when the template is parsed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import posixpath
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from tidegate.appset import paths
from tidegate.appset.gotemplate import execute, values


def _text(value: Any) -> str:
    return "" if values.is_nil(value) else values.to_text(value)


def _empty(value: Any) -> bool:
    return not values.truth(value)


def _num(value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if values.is_nil(value):
        return 0
    try:
        return int(str(value))
    except ValueError:
        try:
            return float(str(value))
        except ValueError:
            return 0


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    numeric = (int, float)
    if (
        isinstance(a, numeric)
        and isinstance(b, numeric)
        and not (isinstance(a, bool) or isinstance(b, bool))
    ):
        return a, b
    if values.is_nil(a) or values.is_nil(b):
        return a, b
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        raise execute.ExecError(
            f"incompatible types for comparison: {values.type_name(a)} and {values.type_name(b)}"
        )
    if isinstance(a, Mapping | list):
        raise execute.ExecError(f"non-comparable type {values.type_name(a)}")
    return a, b


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise execute.ExecError("missing argument for comparison")
    for other in others:
        a, b = _comparable(first, other)
        if a == b:
            return True
    return False


def _ordered(op: str) -> Any:
    def compare(a: Any, b: Any) -> bool:
        a, b = _comparable(a, b)
        if values.is_nil(a) or isinstance(a, bool):
            raise execute.ExecError(f"invalid type for comparison: {values.type_name(a)}")
        result: bool = {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
        return result

    return compare


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if values.is_nil(item):
            raise execute.ExecError("index of untyped nil")
        if isinstance(item, Mapping):
            item = item.get(key)  # Go returns the zero value for an absent key, even on error
        elif isinstance(item, Sequence) and not isinstance(item, str):
            if not isinstance(key, int) or isinstance(key, bool):
                raise execute.ExecError(f"cannot index slice/array with type {type(key).__name__}")
            if not 0 <= key < len(item):
                raise execute.ExecError(f"index out of range: {key}")
            item = item[key]
        else:
            raise execute.ExecError(f"can't index item of type {values.type_name(item)}")
    return item


def _len(item: Any) -> int:
    if isinstance(item, str | Mapping | list | tuple):
        return len(item)
    raise execute.ExecError(f"len of type {values.type_name(item)}")


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _printf(fmt: str, *args: Any) -> str:
    queue = list(args)
    out: list[str] = []
    pos = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if not queue:
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = queue.pop(0)
        out.append(_format_verb(arg, flags, width, precision, verb))
    out.append(fmt[pos:])
    if queue:
        extra = ", ".join(f"{values.type_name(a)}={_text(a)}" for a in queue)
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _format_verb(arg: Any, flags: str, width: str | None, precision: str | None, verb: str) -> str:
    spec = flags.replace("#", "") + (width or "") + (f".{precision}" if precision else "")
    if verb in "sv":
        text = values.to_text(arg, nested=True) if values.is_nil(arg) else values.to_text(arg)
        return format(text, ("<" if "-" in flags else ">") + (width or ""))
    if verb == "q":
        return json.dumps(_text(arg), ensure_ascii=False)
    if verb == "t" and isinstance(arg, bool):
        return "true" if arg else "false"
    if verb in "dxXobc" and isinstance(arg, int) and not isinstance(arg, bool):
        return format(arg, spec + ("" if verb == "d" else verb))
    if verb in "feEgG" and isinstance(arg, int | float) and not isinstance(arg, bool):
        return format(float(arg), spec + verb)
    return f"%!{verb}({values.type_name(arg)}={_text(arg)})"


def _to_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _to_yaml(value: Any) -> str:
    if values.is_nil(value):
        return "null"
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def _default(default: Any, *given: Any) -> Any:
    if not given or _empty(given[0]):
        return default
    return given[0]


def _dig(*args: Any) -> Any:
    if len(args) < 3:
        raise execute.ExecError("dig needs at least three arguments: keys..., default, dict")
    *keys, default, data = args
    for key in keys:
        if not isinstance(data, Mapping) or key not in data:
            return default
        data = data[key]
    return data


def _trunc(length: int, text: str) -> str:
    if length < 0:
        return text[length:] if -length < len(text) else text
    return text[:length]


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _dict(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(pairs), 2):
        out[_text(pairs[i])] = pairs[i + 1] if i + 1 < len(pairs) else ""
    return out


def _int(value: Any) -> int:
    number = _num(value)
    return int(number)


def _ternary(if_true: Any, if_false: Any, condition: Any) -> Any:
    return if_true if values.truth(condition) else if_false


FUNCTIONS: Mapping[str, execute.Function] = types.MappingProxyType(
    {
        # Go builtins (and/or are evaluated lazily by the executor).
        "not": lambda v: not values.truth(v),
        "eq": _eq,
        "ne": lambda a, b: not _eq(a, b),
        "lt": _ordered("lt"),
        "le": _ordered("le"),
        "gt": _ordered("gt"),
        "ge": _ordered("ge"),
        "index": _index,
        "len": _len,
        "print": lambda *a: "".join(_text(x) for x in a),
        "println": lambda *a: " ".join(_text(x) for x in a) + "\n",
        "printf": _printf,
        # Sprig strings.
        "lower": lambda s: _text(s).lower(),
        "upper": lambda s: _text(s).upper(),
        "title": lambda s: re.sub(r"\b[a-z]", lambda m: m.group().upper(), _text(s)),
        "trim": lambda s: _text(s).strip(),
        "trimAll": lambda cut, s: _text(s).strip(_text(cut)),
        "trimPrefix": lambda prefix, s: _text(s).removeprefix(_text(prefix)),
        "trimSuffix": lambda suffix, s: _text(s).removesuffix(_text(suffix)),
        "replace": lambda old, new, s: _text(s).replace(_text(old), _text(new)),
        "contains": lambda sub, s: _text(sub) in _text(s),
        "hasPrefix": lambda prefix, s: _text(s).startswith(_text(prefix)),
        "hasSuffix": lambda suffix, s: _text(s).endswith(_text(suffix)),
        "quote": lambda *a: " ".join(_printf("%q", x) for x in a if x is not None),
        "squote": lambda *a: " ".join(f"'{_text(x)}'" for x in a if x is not None),
        "cat": lambda *a: " ".join(_text(x) for x in a if x is not None),
        "repeat": lambda n, s: _text(s) * int(n),
        "trunc": lambda n, s: _trunc(int(n), _text(s)),
        "indent": lambda n, s: _indent(int(n), _text(s)),
        "nindent": lambda n, s: "\n" + _indent(int(n), _text(s)),
        "join": lambda sep, items: _text(sep).join(_text(x) for x in (items or [])),
        "splitList": lambda sep, s: _text(s).split(_text(sep)),
        "toString": _text,
        "b64enc": lambda s: base64.b64encode(_text(s).encode()).decode(),
        "b64dec": lambda s: base64.b64decode(_text(s).encode()).decode(),
        "sha256sum": lambda s: hashlib.sha256(_text(s).encode()).hexdigest(),
        "sha1sum": lambda s: hashlib.sha1(_text(s).encode()).hexdigest(),
        # Sprig paths.
        "base": lambda p: posixpath.basename(_text(p).rstrip("/")) or ("/" if p else "."),
        "dir": lambda p: posixpath.dirname(_text(p).rstrip("/")) or ".",
        "ext": lambda p: posixpath.splitext(_text(p))[1],
        # Sprig defaults, logic and data.
        "default": _default,
        "empty": _empty,
        "coalesce": lambda *a: next((x for x in a if not _empty(x)), None),
        "ternary": _ternary,
        "list": lambda *a: list(a),
        "dict": _dict,
        "hasKey": lambda d, k: isinstance(d, Mapping) and k in d,
        "get": lambda d, k: d.get(k, "") if isinstance(d, Mapping) else "",
        "keys": lambda *ds: [k for d in ds for k in d],
        "dig": _dig,
        "int": _int,
        "atoi": _int,
        "add": lambda *a: sum(int(_num(x)) for x in a),
        "add1": lambda a: int(_num(a)) + 1,
        "sub": lambda a, b: int(_num(a)) - int(_num(b)),
        "mul": lambda *a: math.prod(int(_num(x)) for x in a),
        "div": lambda a, b: int(int(_num(a)) / int(_num(b))),
        "mod": lambda a, b: int(_num(a)) % int(_num(b)),
        # Serialisation (Sprig toJson; Argo CD's Helm-like toYaml / fromYaml).
        "toJson": _to_json,
        "toPrettyJson": lambda v: json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False),
        "fromJson": lambda s: json.loads(_text(s)),
        "toYaml": _to_yaml,
        "fromYaml": lambda s: yaml.safe_load(_text(s)) or {},
        # Argo CD.
        "normalize": lambda s: paths.normalize(_text(s)),
    }
)
