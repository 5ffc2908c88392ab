"""Bounded evaluation of tenant-written expressions, in worker processes that can be killed.

A thread cannot be stopped, and C code holding the GIL (the jq library) cannot be interrupted: an
expression that never ends would stall whoever called it. Expressions therefore run in small
worker processes with a time limit per expression and a memory limit per process; a worker that
exceeds either dies and is replaced. See docs/diff.md ("jq, bounded").
"""
