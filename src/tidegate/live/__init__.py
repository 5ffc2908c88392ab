"""Live state: a per-cluster cache of the objects Tidegate tracks, fed by list+watch.

``store`` and ``tracking`` are pure; ``cache`` does the I/O (through :mod:`tidegate.kube`).
"""

from tidegate.live.cache import DEFAULT_DENY, CacheState, ClusterCache
from tidegate.live.store import LiveStore, TreeNode
from tidegate.live.tracking import parse_tracking_id, tracked_app

__all__ = [
    "DEFAULT_DENY",
    "CacheState",
    "ClusterCache",
    "LiveStore",
    "TreeNode",
    "parse_tracking_id",
    "tracked_app",
]
