"""The template functions: Go's builtins plus the Sprig and Argo CD functions ApplicationSets use.

Argument orders follow Sprig (the piped value comes last: ``replace old new s``). A function
missing from :data:`FUNCTIONS` is reported by name when the template is parsed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
import types
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from tidegate.appset import paths
from tidegate.appset.gotemplate import execute, limits, values

# Functions that read their arguments without printing them: their (possibly large, shared)
# list and map arguments need no size check before the call.
ACCESSORS = frozenset(
    {"index", "len", "hasKey", "get", "dig", "keys", "default", "coalesce", "ternary", "empty",
     "not", "eq", "ne", "lt", "le", "gt", "ge", "list", "dict", "and", "or", "slice"}
)  # fmt: skip


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
        if isinstance(a, float) != isinstance(b, float):  # Go: an int and a float64 differ
            raise execute.ExecError(
                "incompatible types for comparison:"
                f" {values.type_name(a)} and {values.type_name(b)}"
            )
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


def _slice(item: Any, *indexes: Any) -> Any:
    """Go's ``slice x 1 2``: ``x[1:2]`` of a string or list; ``slice x i j k`` for lists."""
    if values.is_nil(item):
        raise execute.ExecError("slice of untyped nil")
    if not isinstance(item, str | list | tuple):
        raise execute.ExecError(f"can't slice item of type {values.type_name(item)}")
    if len(indexes) > 3 or (len(indexes) == 3 and isinstance(item, str)):
        raise execute.ExecError(f"too many slice indexes: {len(indexes)}")
    bounds: list[int] = []
    for index in indexes:
        if not isinstance(index, int) or isinstance(index, bool):
            raise execute.ExecError(f"cannot index slice/array with type {type(index).__name__}")
        bounds.append(index)
    data = item.encode() if isinstance(item, str) else item  # Go slices strings by bytes
    length = len(data)
    start = bounds[0] if bounds else 0
    stop = bounds[1] if len(bounds) > 1 else length
    limit = bounds[2] if len(bounds) > 2 else length
    if not 0 <= start <= stop <= limit <= length:
        raise execute.ExecError(f"index out of range: {bounds}")
    if isinstance(data, bytes):
        return data[start:stop].decode(errors="replace")
    return list(data[start:stop])


def _arg_text(value: Any) -> str:
    """One operand as ``fmt.Sprint`` prints it (nil is ``<nil>``)."""
    return values.to_text(value, nested=True) if values.is_nil(value) else values.to_text(value)


def _sprint(*args: Any) -> str:
    """Go's ``fmt.Sprint``: a space between two operands when neither is a string."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if index and not isinstance(arg, str) and not isinstance(args[index - 1], str):
            out.append(" ")
        out.append(_arg_text(arg))
    return "".join(out)


def _escaper_text(args: Sequence[Any]) -> str:
    """What ``html``, ``js`` and ``urlquery`` escape: one string as is, else ``fmt.Sprint``."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _sprint(*args)


_HTML = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\0": "\ufffd"}
_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
       "&": "\\u0026", "=": "\\u003D"}  # fmt: skip


def _html(*args: Any) -> str:
    return "".join(_HTML.get(ch, ch) for ch in _escaper_text(args))


def _js_char(ch: str) -> str:
    if ch in _JS:
        return _JS[ch]
    if ch < " " or (ch >= "\x80" and not ch.isprintable()):
        return f"\\u{ord(ch):04X}"
    return ch


def _js(*args: Any) -> str:
    return "".join(_js_char(ch) for ch in _escaper_text(args))


def _urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_escaper_text(args), safe="~")


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
    for number in (width, precision):
        if number:
            limits.check_string("printf: a width or precision", int(number))
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
    limits.check_string("indent", len(text) + max(spaces, 0) * (text.count("\n") + 1))
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _dict(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(pairs), 2):
        out[_text(pairs[i])] = pairs[i + 1] if i + 1 < len(pairs) else ""
    return out


def _repeat(count: Any, text: Any) -> str:
    times, piece = int(count), _text(text)
    limits.check_string("repeat", max(times, 0) * len(piece))
    return piece * times


def _replace(old: Any, new: Any, text: Any) -> str:
    before, after, source = _text(old), _text(new), _text(text)
    hits = len(source) + 1 if not before else source.count(before)
    limits.check_string("replace", len(source) + hits * max(len(after) - len(before), 0))
    return source.replace(before, after)


def _int64(value: int) -> int:
    """Go's int64 arithmetic wraps around (Sprig's math functions use int64)."""
    return (value + 2**63) % 2**64 - 2**63


def _int(value: Any) -> int:
    number = _num(value)
    return int(number)


def _mul(*factors: Any) -> int:
    product = 1
    for factor in factors:  # wrapped at each step, as int64 does, so it never grows unbounded
        product = _int64(product * int(_num(factor)))
    return product


def _call(fn: Any, *args: Any) -> Any:
    if not callable(fn):
        raise ValueError(f"call of a non-function ({type(fn).__name__})")
    return fn(*args)


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
        "print": _sprint,
        "println": lambda *a: " ".join(_arg_text(x) for x in a) + "\n",
        "slice": _slice,
        "html": _html,
        "js": _js,
        "urlquery": _urlquery,
        "printf": _printf,
        # Sprig strings.
        "lower": lambda s: _text(s).lower(),
        "upper": lambda s: _text(s).upper(),
        "title": lambda s: re.sub(r"\b[a-z]", lambda m: m.group().upper(), _text(s)),
        "trim": lambda s: _text(s).strip(),
        "trimAll": lambda cut, s: _text(s).strip(_text(cut)),
        "trimPrefix": lambda prefix, s: _text(s).removeprefix(_text(prefix)),
        "trimSuffix": lambda suffix, s: _text(s).removesuffix(_text(suffix)),
        "replace": _replace,
        "contains": lambda sub, s: _text(sub) in _text(s),
        "hasPrefix": lambda prefix, s: _text(s).startswith(_text(prefix)),
        "hasSuffix": lambda suffix, s: _text(s).endswith(_text(suffix)),
        "quote": lambda *a: " ".join(_printf("%q", x) for x in a if x is not None),
        "squote": lambda *a: " ".join(f"'{_text(x)}'" for x in a if x is not None),
        "cat": lambda *a: " ".join(_text(x) for x in a if x is not None),
        "repeat": _repeat,
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
        "add": lambda *a: _int64(sum(int(_num(x)) for x in a)),
        "add1": lambda a: _int64(int(_num(a)) + 1),
        "sub": lambda a, b: _int64(int(_num(a)) - int(_num(b))),
        "mul": _mul,
        "div": lambda a, b: _int64(int(int(_num(a)) / int(_num(b)))),
        "mod": lambda a, b: _int64(int(_num(a)) % int(_num(b))),
        # Serialisation (Sprig toJson; Argo CD's Helm-like toYaml / fromYaml).
        "toJson": _to_json,
        "toPrettyJson": lambda v: json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False),
        "fromJson": lambda s: json.loads(_text(s)),
        "toYaml": _to_yaml,
        "fromYaml": lambda s: yaml.safe_load(_text(s)) or {},
        # Argo CD.
        "normalize": lambda s: paths.normalize(_text(s)),
        # Go's built-in ``call``: a function value from the data (notification templates'
        # ``{{call .repo.RepoURLToHTTPS .app.spec.source.repoURL}}``).
        "call": _call,
    }
)
