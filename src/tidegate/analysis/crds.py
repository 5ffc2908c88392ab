"""The CustomResourceDefinitions of the analysis kinds, read from this package's YAML (pure).

``crds()`` gives AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun, for ``tidegate
install`` / ``cluster add`` and for tests that need the kinds on a cluster.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import yaml

NAMES = (
    "analysistemplates.argoproj.io",
    "clusteranalysistemplates.argoproj.io",
    "analysisruns.argoproj.io",
)


def crds() -> list[dict[str, Any]]:
    text = (
        importlib.resources.files("tidegate.analysis")
        .joinpath("analysis.crds.yaml")
        .read_text(encoding="utf-8")
    )
    return [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]
