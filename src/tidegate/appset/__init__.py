"""ApplicationSets: generators -> templates -> owned Applications -> rolling steps.

The modules here are pure (no I/O): :mod:`.generators` (parameter sets from list, clusters, git,
matrix, merge), :mod:`.template` and :mod:`.gotemplate` (fasttemplate and Go templates),
:mod:`.applications` (rendering, ``templatePatch``, ownership), :mod:`.policy` (creates /
updates / deletes / conflicts) and :mod:`.rollout` (RollingSync planning). Cluster and git
inputs come from the caller; the controller loop that reads and writes the cluster lives apart.
"""
