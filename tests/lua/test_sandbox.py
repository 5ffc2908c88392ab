"""The Lua sandbox: what scripts can reach, what they cannot, and the limits."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tidegate.lua import sandbox


def run(source: str, limits: sandbox.Limits | None = None, **globals_: Any) -> Any:
    return sandbox.Script(source, name="resource.customizations.health.x_Y", limits=limits).run(
        globals_
    )


def refused(source: str, limits: sandbox.Limits | None = None) -> sandbox.LuaScriptError:
    with pytest.raises(sandbox.LuaScriptError) as caught:
        run(source, limits)
    assert str(caught.value).startswith("Lua script resource.customizations.health.x_Y: ")
    return caught.value


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("os.execute('touch /tmp/pwned')", "attempt to call field 'execute' (a nil value)"),
        ("os.remove('/etc/hosts')", "attempt to call field 'remove'"),
        ("return os.getenv('HOME')", "attempt to call field 'getenv'"),
        ("os.exit(1)", "attempt to call field 'exit'"),
        ("return io.open('/etc/passwd')", "attempt to index global 'io' (a nil value)"),
        ("return io.popen('id')", "attempt to index global 'io'"),
        ("return debug.getinfo(1)", "attempt to index global 'debug'"),
        ("return dofile('/etc/passwd')", "attempt to call global 'dofile'"),
        ("return loadfile('/etc/passwd')", "attempt to call global 'loadfile'"),
        ("return loadstring('return 1')", "attempt to call global 'loadstring'"),
        ("return load(function() return nil end)", "attempt to call global 'load'"),
        ("return require('io')", "module 'io' is not available"),
        ("return require('os').execute", ""),  # the safe os: execute is absent (nil)
        ("return require('debug')", "module 'debug' is not available"),
        ("return package.loaded", "attempt to index global 'package'"),
        ("return getfenv(0)", "attempt to call global 'getfenv'"),
        ("setfenv(1, {})", "attempt to call global 'setfenv'"),
        ("return coroutine.create(print)", "attempt to index global 'coroutine'"),
        ("return newproxy(true)", "attempt to call global 'newproxy'"),
        ("return collectgarbage('count')", "attempt to call global 'collectgarbage'"),
        ("return string.dump(print)", "attempt to call field 'dump'"),
        ("return getmetatable('').__index", "attempt to index a boolean value"),
        ("return python.eval('1')", "attempt to index global 'python'"),
        ("\x1bLua\x51\x00", "precompiled Lua bytecode is not accepted"),
    ],
)
def test_forbidden_functions_are_refused(source: str, message: str) -> None:
    if not message:
        assert run(source) is None
        return
    assert message in str(refused(source))


def test_the_safe_subset_works() -> None:
    source = """
    local parts = {}
    for i, item in ipairs(obj.items) do table.insert(parts, string.upper(item.name)) end
    local json = require("json")
    return {
      joined = table.concat(parts, ","),
      count = table.getn(obj.items) + #obj.items,
      method = ("a-b"):gsub("-", "+"),
      floor = math.floor(2.7),
      year = tonumber(os.date("!%Y", 0)),
      now = os.time() > 0,
      decoded = json.decode('{"a": [1, null, 3]}').a[1],
      encoded = json.encode({k = "v"}),
      caught = select(2, pcall(error, "inner", 0)),
      genv = _G.tostring == tostring,
    }
    """
    result = run(source, obj={"items": [{"name": "a"}, {"name": "b"}]})
    assert result == {
        "joined": "A,B",
        "count": 4,
        "method": "a+b",
        "floor": 2,
        "year": 1970,
        "now": True,
        "decoded": 1,
        "encoded": '{"k":"v"}',
        "caught": "inner",
        "genv": True,
    }


def test_gopher_lua_dialect_goto_and_51_names() -> None:
    """Argo CD's gopher-lua is Lua 5.1 plus goto; its scripts use both."""
    source = """
    local kept = {}
    for i, item in ipairs(obj.items) do
      if item.skip then goto continue end
      table.insert(kept, item.name)
      ::continue::
    end
    return {
      kept = table.concat(kept, ","),
      getn = table.getn(kept),
      maxn = table.maxn({[1] = "a", [7] = "b"}),
      unpacked = select("#", unpack({1, 2, 3})),
      half = tostring(10 / 2),
      log = math.log10(1000),
      version = _VERSION,
    }
    """
    items = [{"name": "a"}, {"name": "b", "skip": True}, {"name": "c"}]
    assert run(source, obj={"items": items}) == {
        "kept": "a,c",
        "getn": 2,
        "maxn": 7,
        "unpacked": 3,
        "half": "5",
        "log": 3,
        "version": "Lua 5.1",
    }


def test_finalizers_are_refused() -> None:
    # A __gc metamethod would run whenever the collector does, outside every limit.
    error = refused("setmetatable({}, {__gc = function() while true do end end})")
    assert "__gc metamethods are not allowed" in str(error)


def test_each_run_starts_from_fresh_globals_and_libraries() -> None:
    script = sandbox.Script(
        "local before = counter; counter = 1; string.upper = nil; return before == nil",
        name="k",
    )
    assert script.run({}) is True
    assert script.run({}) is True  # neither the global nor the tampered library survived
    assert sandbox.Script("return ('x'):upper()", name="k2").run({}) == "X"


@pytest.mark.parametrize(
    "source",
    [
        "while true do end",
        "local function f() return f() end return f()",  # a tail call loops forever
        "while true do pcall(function() while true do end end) end",  # pcall cannot swallow it
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
    ],
)
def test_instruction_limit_stops_endless_scripts(source: str) -> None:
    error = refused(source, sandbox.Limits(instructions=200_000))
    assert error.limit
    assert "instruction limit exceeded (200000 instructions)" in str(error)


def test_time_limit_stops_slow_scripts() -> None:
    # Each call copies a 64 KiB string in C: few instructions, much time, and nothing kept (so
    # the memory limit never comes first, however loaded the machine). The wall clock stops it.
    source = "local s = string.rep('x', 65536) for i = 1, 1e9 do local u = s:upper() end"
    started = time.monotonic()
    error = refused(source, sandbox.Limits(instructions=10**12, timeout=0.3))
    assert error.limit and "time limit exceeded (0.3s)" in str(error)
    assert time.monotonic() - started < 30  # stopped, not run to completion


@pytest.mark.parametrize(
    "source",
    [
        "local s = string.rep('x', 1e9)",
        "local t = {} for i = 1, 1e8 do t[i] = {i} end",
    ],
)
def test_memory_limit(source: str) -> None:
    limits = sandbox.Limits(memory=16 * 1024 * 1024, instructions=10**10, timeout=60)
    script = sandbox.Script(source, name="k", limits=limits)
    with pytest.raises(sandbox.LuaScriptError) as caught:
        script.run({})
    assert caught.value.limit and f"memory limit exceeded ({16 * 1024 * 1024} bytes)" in str(
        caught.value
    )
    # The state recovers: the next run has its memory back.
    assert sandbox.Script("return 1", name="k", limits=limits).run({}) == 1


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("return string.find(string.rep('a', 3000), '.-.-.-b')", False),
        ("return ('a'):rep(100000):match('(.*)(.*)b')", False),
        ("return string.find(obj.message, 'not ready')", True),
        ("return string.match(obj.message, '^(%w+) is (.*)$')", True),
        ("return select(2, string.gsub(obj.message, '%s+', ' '))", True),
    ],
)
def test_pattern_matching_is_bounded(source: str, allowed: bool) -> None:
    obj = {"message": "certificate is not ready yet"}
    if allowed:
        run(source, obj=obj)
    else:
        assert "may take" in str(refused(source))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("return function() end", "has no JSON form"),
        ("local t = {} t.t = t return t", "nested deeper than"),
        ("return '\\255'", "cannot be used"),
        ("error({})", "a table value was raised as an error"),
        ("x y", "line 1: syntax error near 'y'"),
        ("local a = nil return a.b", "line 1: attempt to index local 'a' (a nil value)"),
    ],
)
def test_failures_are_errors_naming_the_script(source: str, message: str) -> None:
    assert message in str(refused(source))


def test_values_round_trip_as_argo_cd_encodes_them() -> None:
    obj = {"a": None, "list": [1, 2.5, "x", True], "map": {"k": {}}, "empty": []}
    assert run("return obj", obj=obj) == {
        "list": [1, 2.5, "x", True],
        "map": {"k": []},  # an empty table has no shape: Argo CD encodes it as []
        "empty": [],
    }
    assert run("return {[1] = 'a', [3] = 'c'}") == {"1": "a", "3": "c"}


def test_python_objects_are_unreachable() -> None:
    # json.decode/encode are Python behind Lua closures: nothing to index or call beyond them.
    error = refused("local j = require('json') return j.decode.__globals__")
    assert "attempt to index field 'decode'" in str(error)


def test_a_script_that_broke_a_limit_rests_before_it_runs_again() -> None:
    script = sandbox.Script(
        "if obj.loop then while true do end end return 'ran'",
        name="k",
        limits=sandbox.Limits(instructions=100_000, cooldown=3600),
    )
    assert script.run({"obj": {}}) == "ran"
    with pytest.raises(sandbox.LuaScriptError) as first:
        script.run({"obj": {"loop": True}})
    # Within the cooldown even a harmless object fails at once, with the same error.
    with pytest.raises(sandbox.LuaScriptError) as second:
        script.run({"obj": {}})
    assert second.value is first.value and second.value.limit
    # Errors that are not limits do not bench a script.
    other = sandbox.Script("error(obj.m, 0)", name="k", limits=sandbox.Limits(cooldown=3600))
    for message in ("one", "two"):
        with pytest.raises(sandbox.LuaScriptError, match=message):
            other.run({"obj": {"m": message}})
    resting = sandbox.Script(
        "if obj.loop then while true do end end return 'ran'",
        name="k",
        limits=sandbox.Limits(instructions=100_000, cooldown=0),
    )
    with pytest.raises(sandbox.LuaScriptError):
        resting.run({"obj": {"loop": True}})
    assert resting.run({"obj": {}}) == "ran"  # no cooldown: runs again at once


def test_input_too_large_for_the_memory_limit_is_refused_before_conversion() -> None:
    # Building Lua tables from Python happens outside any protected call: running out of
    # memory there would abort the process, so the size is checked first.
    limits = sandbox.Limits(memory=4 * 1024 * 1024)
    script = sandbox.Script("return #obj.a", name="k", limits=limits)
    with pytest.raises(sandbox.LuaScriptError, match="more than the memory limit"):
        script.run({"obj": {"a": [list(range(8))] * 200_000}})
    assert script.run({"obj": {"a": [1, 2]}}) == 2
    decoding = sandbox.Script(
        'return #require("json").decode("[" .. string.rep("[1,2,3,4],", 100000) .. "1]")',
        name="k",
        limits=sandbox.Limits(memory=8 * 1024 * 1024),
    )
    with pytest.raises(sandbox.LuaScriptError, match=r"json\.decode: the input needs about"):
        decoding.run({})
