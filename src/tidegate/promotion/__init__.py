"""Promotion: artifacts flow from Warehouses through Stages as Freight, via Git (Kargo's model).

Pure modules: :mod:`crds`, :mod:`freight` (names, aliases, artifacts), :mod:`discovery`
(choosing image tags, commits and chart versions), :mod:`availability` (which Freight a Stage
may take, and what auto-promotion picks), :mod:`expressions` (``${{ }}``). I/O: the step
runners and the controller. See docs/promotion.md.
"""
