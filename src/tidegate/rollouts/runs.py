"""Where AnalysisRuns come from: the analysis package's builder, when it is installed.

The Rollouts planner creates a run for an analysis step, background analysis, or blue-green
pre/post promotion analysis through ``World.build_run``; this returns that function, or
``None`` when Tidegate has no analysis support (the run's status is then ``Error`` and the
Rollout aborts with that reason, never silently passes).
"""

from __future__ import annotations

from tidegate.rollouts import world


def builder() -> world.RunBuilder | None:
    return None
