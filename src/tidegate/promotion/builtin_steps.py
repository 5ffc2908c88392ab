"""The table of built-in promotion steps: Kargo's step name -> the function that runs it.

One place, so that the template check (a step Tidegate does not know is refused when a
promotion is created) and the runner always agree on what exists.
"""

from __future__ import annotations

from tidegate.promotion import chart_step, pr_steps, steps

STEPS: dict[str, steps.Step] = {
    "git-clone": steps.git_clone,
    "git-clear": steps.git_clear,
    "kustomize-set-image": steps.kustomize_set_image,
    "yaml-update": steps.yaml_update,
    "helm-update-chart": chart_step.helm_update_chart,
    "copy": steps.copy,
    "git-commit": steps.git_commit,
    "git-push": steps.git_push,
    "git-open-pr": pr_steps.git_open_pr,
    "git-wait-for-pr": pr_steps.git_wait_for_pr,
    "argocd-update": steps.argocd_update,
    "http": steps.http_step,
}
