"""A sandboxed Lua 5.1 runtime for argocd-cm scripts: compile once, run many (pure).

Each :class:`Script` owns one Lua state (lupa ``lua51``; gopher-lua, which Argo CD embeds, is
Lua 5.1 too), so scripts of different keys share nothing. A run gets a fresh global
environment, as Argo CD builds a new Lua state per run:

- base functions: ``assert error ipairs next pairs pcall xpcall select tonumber tostring type
  unpack rawequal rawget rawset getmetatable setmetatable print`` (``print`` discards its
  arguments) and ``_VERSION``, ``_G``;
- ``string`` (without ``dump``), ``table``, ``math``, and ``os`` with only ``time`` and ``date``
  (Argo CD's safe os library); ``require`` returns these, or ``json`` (``encode``/``decode``);
- nothing else: no ``io``, ``os.execute``/``remove``/``getenv``/``exit``..., ``debug``,
  ``load``/``loadstring``/``dofile``/``loadfile``, ``package``, ``getfenv``/``setfenv``,
  ``coroutine``, ``newproxy``, ``collectgarbage``, and no route to Python (lupa's ``python``
  table is unreachable and every attribute access on a Python object is refused).

Limits, per run (:class:`Limits`): a count hook stops the script after ``instructions`` Lua VM
instructions or ``timeout`` seconds of wall-clock time (checked every 100 instructions; a
``pcall`` cannot swallow the stop); the state may not allocate more than ``memory`` bytes.
Library functions written in C do not pass through the hook, so the two whose cost can explode
on small input are bounded up front: pattern matching (``find``, ``match``, ``gmatch``, ``gsub``)
is refused when its worst case, ``(len(subject)+1)^(quantifiers+1)`` steps, exceeds
:data:`PATTERN_BUDGET`; everything else in C is linear in its input, and input is bounded by
the memory limit. Any failure is a :class:`LuaScriptError` naming the script.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Mapping
from typing import Any, Final

import lupa.lua51 as lua51

from tidegate.lua import values
from tidegate.model import errors

DEFAULT_INSTRUCTIONS: Final = 10_000_000
DEFAULT_MEMORY: Final = 64 * 1024 * 1024
DEFAULT_TIMEOUT: Final = 1.0  # seconds: Argo CD's limit for one script run
PATTERN_BUDGET: Final = 50_000_000
_OUT_OF_MEMORY: Final = "not enough memory"  # Lua's own message
_HOOK_EVERY: Final = 100  # instructions between two checks of the limits


@dataclasses.dataclass(frozen=True)
class Limits:
    instructions: int = DEFAULT_INSTRUCTIONS
    memory: int = DEFAULT_MEMORY  # bytes
    timeout: float = DEFAULT_TIMEOUT  # seconds


class LuaScriptError(errors.PermanentError):
    """A script failed to compile or run, broke a limit, or returned something unusable."""

    def __init__(self, message: str, *, limit: bool = False) -> None:
        super().__init__(message)
        self.limit = limit  # an instruction, time or memory limit stopped it


# Runs once per Lua state with the full standard library in reach; it keeps what the sandbox
# needs in locals and hands back three functions. Scripts never see this chunk's environment.
_PRELUDE: Final = r"""
local now, decode, encode, pattern_budget, every = ...
local sethook, loadstring, setfenv = debug.sethook, loadstring, setfenv
local pcall, xpcall, error, type, pairs = pcall, xpcall, error, type, pairs
local getmetatable = getmetatable
local string_lib, table_lib, math_lib = string, table, math
local safe_os = {time = os.time, date = os.date}

local stop_message = nil
local steps_left, deadline = 0, 0
local limit_steps, limit_seconds = 0, 0

local function stop(message)
  stop_message = message
  error(message, 0)
end

local function hook()
  if stop_message then error(stop_message, 0) end
  steps_left = steps_left - 1
  if steps_left < 0 then
    stop("instruction limit exceeded (" .. limit_steps .. " instructions)")
  end
  if now() > deadline then stop("time limit exceeded (" .. limit_seconds .. "s)") end
end

local function rethrow_stop(ok, ...)
  if stop_message then error(stop_message, 0) end
  return ok, ...
end

local byte, floor = string_lib.byte, math.floor
local PCT, LBR, RBR, CARET = 37, 91, 93, 94
local REPEAT = {[42] = true, [43] = true, [45] = true}  -- * + -

-- Repetitions ('*', '+', '-' after an item) outside character classes and escapes.
local function repetitions(p)
  local count, i, n = 0, 1, #p
  while i <= n do
    local c = byte(p, i)
    if c == PCT then
      i = i + 2
    elseif c == LBR then
      i = i + 1
      if byte(p, i) == CARET then i = i + 1 end
      if byte(p, i) == RBR then i = i + 1 end
      while i <= n and byte(p, i) ~= RBR do
        if byte(p, i) == PCT then i = i + 2 else i = i + 1 end
      end
      i = i + 1
    else
      if REPEAT[c] and i > 1 then count = count + 1 end
      i = i + 1
    end
  end
  return count
end

-- The worst case of a match is about (#s + 1) ^ (repetitions + 1) steps (one more factor for
-- an unanchored search): refuse it beyond the budget, C code cannot be interrupted.
local function guarded(fn, name)
  return function(s, p, ...)
    if type(s) == "string" and type(p) == "string" then
      local anchored = byte(p, 1) == CARET and (name == "find" or name == "match")
      local power = repetitions(p) + (anchored and 0 or 1)
      local worst = (#s + 1) ^ power
      if worst > pattern_budget then
        error(string_lib.format(
          "string.%s: pattern %q on a %d-byte string may take %.3g steps (limit %d); " ..
          "use fewer repetitions or a shorter string",
          name, string_lib.sub(p, 1, 60), #s, worst, pattern_budget), 2)
      end
    end
    return fn(s, p, ...)
  end
end

local patterned = {}
for _, name in ipairs({"find", "match", "gmatch", "gsub"}) do
  patterned[name] = guarded(string_lib[name], name)
end
-- Methods on strings ("x"):find(...) go through the same guards.
local string_meta = getmetatable("")
local method_table = {}
for k, v in pairs(string_lib) do
  if k ~= "dump" then method_table[k] = patterned[k] or v end
end
string_meta.__index = method_table
string_meta.__metatable = false  -- getmetatable("") gives scripts nothing to tamper with

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local base = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
  select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
  rawequal = rawequal, rawget = rawget, rawset = rawset,
  getmetatable = getmetatable, setmetatable = setmetatable,
  print = function() end, _VERSION = _VERSION,
  pcall = function(...) return rethrow_stop(pcall(...)) end,
  xpcall = function(...) return rethrow_stop(xpcall(...)) end,
}

local function new_env(globals)
  local env = copy(base)
  env.string = copy(method_table)
  env.table = copy(table_lib)
  env.math = copy(math_lib)
  env.os = copy(safe_os)
  local json = {
    decode = function(s) local ok, v = decode(s); if not ok then error(v, 2) end; return v end,
    encode = function(v) local ok, s = encode(v); if not ok then error(s, 2) end; return s end,
  }
  local modules = {
    string = env.string, table = env.table, math = env.math, os = env.os, json = json,
  }
  env.require = function(name)
    local found = modules[name]
    if found == nil then error("module '" .. tostring(name) .. "' is not available", 2) end
    return found
  end
  env._G = env
  for k, v in pairs(globals) do env[k] = v end
  return env
end

local function compile(source)
  if source:byte(1) == 27 then return nil, "precompiled Lua bytecode is not accepted" end
  local fn, problem = loadstring(source, "=")
  return fn, problem
end

local function finish(ok, ...)
  sethook()
  local message = stop_message
  if message then return false, message, true end
  if not ok then
    local err = ...
    if type(err) ~= "string" then err = "a " .. type(err) .. " value was raised as an error" end
    return false, err, false
  end
  return true, (...)
end

local function run(fn, globals, steps, seconds)
  local env = new_env(globals)
  setfenv(fn, env)
  stop_message = nil
  limit_steps, limit_seconds = steps, seconds
  steps_left = math_lib.ceil(steps / every)
  deadline = now() + seconds
  sethook(hook, "", every)
  return finish(pcall(fn))
end

return compile, run
"""


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("Python objects are not accessible from Lua")


class Script:
    """One compiled script (``name`` appears in every error). Thread-safe: runs are
    serialised on the script's own Lua state."""

    def __init__(self, source: str, *, name: str, limits: Limits | None = None) -> None:
        self.name = name
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._runtime = lua51.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_deny_attributes,
            max_memory=self.limits.memory,
        )
        compile_fn, self._run = self._runtime.execute(
            _PRELUDE,
            time.monotonic,
            self._json_decode,
            self._json_encode,
            PATTERN_BUDGET,
            _HOOK_EVERY,
        )
        try:
            fn, problem = compile_fn(source)
        except lua51.LuaError as exc:  # out of memory while compiling
            raise LuaScriptError(f"Lua script {name}: {_text(exc)}") from None
        if fn is None:
            raise LuaScriptError(f"Lua script {name}: {_lines(problem)}")
        self._fn = fn

    def run(self, globals_: Mapping[str, Any]) -> Any:
        """Run with ``globals_`` (plain data, converted to Lua) and return the script's return
        value as plain data (see :mod:`tidegate.lua.values`)."""
        with self._lock:
            try:
                table = self._runtime.table_from(
                    {k: values.to_lua(self._runtime, v) for k, v in globals_.items()}
                )
                ok, result, *limit = self._run(
                    self._fn, table, self.limits.instructions, self.limits.timeout
                )
                if not ok:
                    if result == _OUT_OF_MEMORY:
                        raise lua51.LuaMemoryError(result)
                    stopped = bool(limit and limit[0])
                    raise LuaScriptError(f"Lua script {self.name}: {_lines(result)}", limit=stopped)
                return values.from_lua(result)
            except lua51.LuaMemoryError:
                raise LuaScriptError(
                    f"Lua script {self.name}: memory limit exceeded ({self.limits.memory} bytes)",
                    limit=True,
                ) from None
            except lua51.LuaError as exc:
                raise LuaScriptError(f"Lua script {self.name}: {_text(exc)}") from None
            except (values.ConversionError, UnicodeDecodeError) as exc:
                raise LuaScriptError(
                    f"Lua script {self.name}: the returned value cannot be used: {exc}"
                ) from None
            finally:
                if self._runtime.get_memory_used() > self.limits.memory // 2:
                    self._runtime.gccollect()

    # Called from Lua: (True, value) or (False, message); an exception would surface in Lua as
    # a Python object.
    def _json_decode(self, text: Any) -> tuple[bool, Any]:
        if not isinstance(text, str):
            return False, "json.decode expects a string"
        try:
            return True, values.to_lua(self._runtime, json.loads(text))
        except ValueError as exc:
            return False, f"json.decode: {exc}"

    def _json_encode(self, value: Any) -> tuple[bool, str]:
        try:
            return True, json.dumps(values.from_lua(value), separators=(",", ":"))
        except (values.ConversionError, UnicodeDecodeError) as exc:
            return False, f"json.encode: {exc}"


_LINE: Final = re.compile(r"\A:(\d+):")


def _lines(message: Any) -> str:
    """Lua's ``:3: message`` (the chunk has no name: the key is in our prefix) as
    ``line 3: message``."""
    return _LINE.sub(r"line \1:", str(message))


def _text(exc: BaseException) -> str:
    return str(exc).split("\nstack traceback:", 1)[0].strip()
