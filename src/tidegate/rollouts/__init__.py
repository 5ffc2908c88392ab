"""Argo Rollouts' Rollout controller (``argoproj.io/v1alpha1`` Rollout): canary and blue-green.

Pure planning (:mod:`spec`, :mod:`replicas`, :mod:`canary`, :mod:`bluegreen`, :mod:`traffic`,
:mod:`status`, :mod:`plan`, :mod:`actions`) does no I/O: from a Rollout, its ReplicaSets and
the Services it names it computes the writes and the status. :mod:`controller` is the I/O edge
for one cluster; :mod:`fleet` runs one per registered cluster.
"""
