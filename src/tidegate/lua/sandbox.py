"""A sandboxed Lua runtime for argocd-cm scripts: compile once, run many (pure).

Argo CD embeds gopher-lua: Lua 5.1 plus ``goto`` (which Argo CD's own shipped scripts use).
Each :class:`Script` owns one Lua 5.2 state (lupa ``lua52``: ``goto``, and numbers are all
doubles as in 5.1, so ``tostring(10/2)`` is ``"5"``), with the 5.1 names 5.2 dropped put back
(``unpack``, ``table.getn``, ``table.maxn``, ``math.log10``, ``math.mod``; ``_VERSION`` says
Lua 5.1). Scripts of different keys share nothing. A run gets a fresh global environment, as
Argo CD builds a new Lua state per run:

- base functions: ``assert error ipairs next pairs pcall xpcall select tonumber tostring type
  unpack rawequal rawget rawset rawlen getmetatable setmetatable print`` (``print`` discards its
  arguments; ``setmetatable`` refuses ``__gc``, a finalizer would run outside the limits) and
  ``_VERSION``, ``_G``;
- ``string`` (without ``dump``), ``table``, ``math``, and ``os`` with only ``time`` and ``date``
  (Argo CD's safe os library); ``require`` returns these, or ``json`` (``encode``/``decode``);
- nothing else: no ``io``, ``os.execute``/``remove``/``getenv``/``exit``..., ``debug``,
  ``load``/``loadstring``/``dofile``/``loadfile``, ``package``, ``getfenv``/``setfenv``,
  ``coroutine``, ``newproxy``, ``collectgarbage``, and no route to Python (lupa's ``python``
  table is unreachable and every attribute access on a Python object is refused).

Limits, per run (:class:`Limits`): a count hook stops the script after ``instructions`` Lua VM
instructions or ``timeout`` seconds of wall-clock time (checked every 100 instructions; a
``pcall`` cannot swallow the stop); the state may not allocate more than ``memory`` bytes.
A script that broke a limit is not run again for ``cooldown`` seconds: its runs fail at once
with the same error, so a broken script costs one limit per minute, not one per object.
Library functions written in C do not pass through the hook, so those whose cost can explode
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

import lupa.lua52 as lua

from tidegate.lua import values
from tidegate.model import errors

DEFAULT_INSTRUCTIONS: Final = 10_000_000
DEFAULT_MEMORY: Final = 64 * 1024 * 1024
DEFAULT_TIMEOUT: Final = 1.0  # seconds: Argo CD's limit for one script run
PATTERN_BUDGET: Final = 50_000_000
_OUT_OF_MEMORY: Final = "not enough memory"  # Lua's own message
_RESERVE: Final = 1024 * 1024  # bytes kept free for a run itself (its environment, its hook)
_HOOK_EVERY: Final = 100  # instructions between two checks of the limits


DEFAULT_COOLDOWN: Final = 60.0


@dataclasses.dataclass(frozen=True)
class Limits:
    instructions: int = DEFAULT_INSTRUCTIONS
    memory: int = DEFAULT_MEMORY  # bytes
    timeout: float = DEFAULT_TIMEOUT  # seconds
    # After a run breaks a limit, the script is not run again for this long: every run in the
    # meantime fails at once with the same error (a looping script on 500 objects would
    # otherwise hold the controller for 500 runs' worth of limits at every refresh).
    cooldown: float = DEFAULT_COOLDOWN  # seconds


class LuaScriptError(errors.PermanentError):
    """A script failed to compile or run, broke a limit, or returned something unusable."""

    def __init__(self, message: str, *, limit: bool = False) -> None:
        super().__init__(message)
        self.limit = limit  # an instruction, time or memory limit stopped it


# Runs once per Lua state with the full standard library in reach; it keeps what the sandbox
# needs in locals and hands back three functions. Scripts never see this chunk's environment.
_PRELUDE: Final = r"""
local now, decode, encode, pattern_budget, every = ...
local sethook, setupvalue, load = debug.sethook, debug.setupvalue, load
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
local QUANT = {[42] = true, [43] = true, [45] = true, [63] = true}  -- * + - ?
local OPEN, CLOSE, DOLLAR = 40, 41, 36
local find, sub = string_lib.find, string_lib.sub

-- The items of a pattern: {text = "%d" | "[a-z]" | "." | "x" | "$", quant = "*" | ... | nil}
-- (captures, anchors and %f frontiers dropped; %b kept as an item marked ``balance``).
local function items(p)
  local out, i, n = {}, 1, #p
  if byte(p, 1) == CARET then i = 2 end
  while i <= n do
    local c, j = byte(p, i), i
    if c == OPEN or c == CLOSE then
      i = i + 1
    elseif c == DOLLAR and i == n then
      out[#out + 1] = {text = "$"}
      i = i + 1
    else
      if c == PCT then
        local x = sub(p, i + 1, i + 1)
        if x == "b" then  -- %bxy scans to the balancing character: one more factor
          out[#out + 1] = {text = "%b", balance = true}
          i = i + 4
          goto continue
        elseif x == "f" then  -- %f[set] is zero-width: skip the set
          j = i + 2
          while j <= n and byte(p, j) ~= RBR do
            if byte(p, j) == PCT then j = j + 2 else j = j + 1 end
          end
          i = j + 1
          goto continue
        end
        j = i + 1
      elseif c == LBR then
        j = i + 1
        if byte(p, j) == CARET then j = j + 1 end
        if byte(p, j) == RBR then j = j + 1 end
        while j <= n and byte(p, j) ~= RBR do
          if byte(p, j) == PCT then j = j + 2 else j = j + 1 end
        end
      end
      local item = {text = sub(p, i, j)}
      i = j + 1
      local q = byte(p, i)
      if q and QUANT[q] then item.quant = q; i = i + 1 end
      out[#out + 1] = item
    end
    ::continue::
  end
  return out
end

-- Repetitions that multiply the work of a match. A repetition ('*', '+', '-') followed by a
-- single character it cannot match (or, greedy, by the end) only ever continues at one point,
-- so it adds work instead of multiplying it; every other one multiplies it by up to #s + 1.
local function repetitions(p)
  local list = items(p)
  local count = 0
  for k, item in ipairs(list) do
    if item.balance then
      count = count + 1
    elseif item.quant and item.quant ~= 63 then
      local next_item = list[k + 1]
      local separated = false
      if next_item == nil or next_item.text == "$" then
        separated = item.quant ~= 45
      elseif next_item.quant == nil and #next_item.text <= 2 then
        local literal = next_item.text
        if byte(literal, 1) == PCT then
          literal = sub(literal, 2, 2)
          if find(literal, "^%w") then literal = nil end  -- a class, not a literal
        elseif literal == "." or byte(literal, 1) == LBR then
          literal = nil
        end
        separated = literal ~= nil and #literal == 1 and not find(literal, "^" .. item.text)
      end
      if not separated then count = count + 1 end
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

-- gopher-lua is Lua 5.1 plus goto: the 5.1 names that Lua 5.2 moved or dropped come back.
local table_51 = copy(table_lib)
table_51.getn = function(t) return #t end
table_51.maxn = function(t)
  local max = 0
  for k in pairs(t) do
    if type(k) == "number" and k > max then max = k end
  end
  return max
end
local math_51 = copy(math_lib)
math_51.log10 = function(x) return math_lib.log(x, 10) end
math_51.mod = math_lib.fmod
local set_metatable = setmetatable
local rawget = rawget

local base = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
  select = select, tonumber = tonumber, tostring = tostring, type = type,
  unpack = table_lib.unpack, rawequal = rawequal, rawget = rawget, rawset = rawset,
  rawlen = rawlen, getmetatable = getmetatable,
  -- A __gc finalizer would run whenever the collector runs, outside any limit.
  setmetatable = function(t, mt)
    if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
      error("__gc metamethods are not allowed", 2)
    end
    return set_metatable(t, mt)
  end,
  print = function() end, _VERSION = "Lua 5.1",
  pcall = function(...) return rethrow_stop(pcall(...)) end,
  xpcall = function(...) return rethrow_stop(xpcall(...)) end,
}

local function new_env(globals)
  local env = copy(base)
  env.string = copy(method_table)
  env.table = copy(table_51)
  env.math = copy(math_51)
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
  local fn, problem = load(source, "=", "t", {})
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
  setupvalue(fn, 1, env)  -- a main chunk's only upvalue is its _ENV
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
        self._broken: LuaScriptError | None = None  # the last limit breach, within cooldown
        self._broken_until = 0.0
        self._runtime = lua.LuaRuntime(
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
        except lua.LuaError as exc:  # out of memory while compiling
            raise LuaScriptError(f"Lua script {name}: {_text(exc)}") from None
        if fn is None:
            raise LuaScriptError(f"Lua script {name}: {_lines(problem)}")
        self._fn = fn

    def run(self, globals_: Mapping[str, Any]) -> Any:
        """Run with ``globals_`` (plain data, converted to Lua) and return the script's return
        value as plain data (see :mod:`tidegate.lua.values`). Within ``limits.cooldown`` of a
        run that broke a limit, fails at once with that run's error."""
        with self._lock:
            if self._broken is not None and time.monotonic() < self._broken_until:
                raise self._broken
            try:
                return self._run_once(globals_)
            except LuaScriptError as exc:
                if exc.limit:
                    self._broken = exc
                    self._broken_until = time.monotonic() + self.limits.cooldown
                raise

    def _room(self, value: Any) -> str:
        """Why ``value`` may not be converted into this state ("" when it may)."""
        free = self.limits.memory - _RESERVE - self._runtime.get_memory_used()
        if values.lua_size(value, limit=free) <= free:
            return ""
        self._runtime.gccollect()
        free = self.limits.memory - _RESERVE - self._runtime.get_memory_used()
        need = values.lua_size(value, limit=self.limits.memory)
        if need <= free:
            return ""
        return (
            f"the input needs about {need // 1024 // 1024 + 1} MiB of Lua memory, more than "
            f"the memory limit ({self.limits.memory} bytes) leaves"
        )

    def _run_once(self, globals_: Mapping[str, Any]) -> Any:
        problem = self._room(globals_)
        if problem:
            raise LuaScriptError(f"Lua script {self.name}: {problem}")
        try:
            table = self._runtime.table_from(
                {k: values.to_lua(self._runtime, v) for k, v in globals_.items()}
            )
            ok, result, *limit = self._run(
                self._fn, table, self.limits.instructions, self.limits.timeout
            )
            if not ok:
                if result == _OUT_OF_MEMORY:
                    raise lua.LuaMemoryError(result)
                stopped = bool(limit and limit[0])
                raise LuaScriptError(f"Lua script {self.name}: {_lines(result)}", limit=stopped)
            return values.from_lua(result)
        except lua.LuaMemoryError:
            raise LuaScriptError(
                f"Lua script {self.name}: memory limit exceeded ({self.limits.memory} bytes)",
                limit=True,
            ) from None
        except lua.LuaError as exc:
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
            decoded = json.loads(text)
        except ValueError as exc:
            return False, f"json.decode: {exc}"
        problem = self._room(decoded)
        if problem:
            return False, f"json.decode: {problem}"
        return True, values.to_lua(self._runtime, decoded)

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
