"""sync: plan a sync operation — options, hooks, waves, ordering, prune, the re-entrant step.

The planning modules here do no I/O: :func:`tidegate.sync.step.plan_step` turns targets, live
objects and the recorded results so far into the next action; an executor (in the controller,
through ``kube``) carries the action out and records the results, then calls it again.
"""
