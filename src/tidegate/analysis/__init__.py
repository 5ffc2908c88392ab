"""Argo Rollouts analysis: AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun.

Pure modules (no I/O): ``names`` (wire constants), ``durations`` (Go duration strings),
``runs`` (build an AnalysisRun from templates and args), ``args`` (``{{args.x}}`` templating),
``conditions`` (success/failure conditions through :mod:`tidegate.expr`), ``validate`` (refuse a
bad spec up front) and ``assess`` (measurement bookkeeping, metric and run phases, when to
measure next). I/O at the edges: ``providers`` (prometheus, web, job) and ``controller`` (the
per-cluster reconciler of AnalysisRuns).
"""
