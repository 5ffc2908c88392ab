"""Health assessment: per-kind checks, custom checks, and the application's aggregate health.

This package does no I/O: every function takes a raw object (a mapping) and returns data.
Entry points: :func:`tidegate.health.registry.assess` (one object),
:func:`tidegate.health.status.aggregate` (many statuses), and
:class:`tidegate.health.registry.HealthChecks` (built-in plus custom checks).
"""
