"""Tidegate: GitOps continuous delivery for fleets of Kubernetes clusters.

The folder list is the pipeline: ``sources`` -> ``render`` -> ``diff`` -> ``sync`` -> ``health``,
with ``controller`` the only scheduler and ``cli`` the edge. See docs/architecture.md.
"""

__version__ = "0.1.0"
