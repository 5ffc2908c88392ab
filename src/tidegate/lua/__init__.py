"""Lua scripts from ``argocd-cm`` (health checks, resource actions), run sandboxed.

This package does no I/O. :mod:`tidegate.lua.sandbox` compiles a script once and runs it many
times in an isolated Lua 5.1 state (lupa's ``lua51``, the dialect of gopher-lua that Argo CD
embeds) with no I/O libraries and with instruction, memory and time limits;
:mod:`tidegate.lua.values` converts objects between Python and Lua as Argo CD does;
:mod:`tidegate.lua.actions` runs action discovery and action scripts. See docs/health.md.
"""
