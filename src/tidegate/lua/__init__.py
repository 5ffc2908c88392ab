"""Lua scripts from ``argocd-cm`` (health checks, resource actions), run sandboxed.

This package does no I/O. :mod:`tidegate.lua.sandbox` compiles a script once and runs it many
times in an isolated Lua state (lupa's ``lua52`` with Lua 5.1's names restored: gopher-lua,
which Argo CD embeds, is Lua 5.1 plus ``goto``) with no I/O libraries and with instruction,
memory and time limits; :mod:`tidegate.lua.values` converts objects between Python and Lua as
Argo CD does; :mod:`tidegate.lua.actions` runs action discovery and action scripts. See
docs/health.md.
"""
