"""diff: normalise, apply ignore rules, mask secrets and compare desired with live objects.

This package does no I/O. The caller supplies the live object and, for the server-side diff, the
object predicted by a server-side dry-run apply; everything here is a pure function of those.
"""
