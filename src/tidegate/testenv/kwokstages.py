"""The test bed's kwok behaviour: kwok's default stages, plus one the tests need (pure text).

kwok plays every kubelet of the bed and makes each Pod Running and Ready at once. A test of a
*broken build* needs the opposite, with real components: a container image whose reference
contains ``never-ready`` (``reg/app:1.0.2-never-ready``) gets a Pod that kwok sets Running
with its containers not ready (``CrashLoopBackOff``), for ever. A Deployment of it never
becomes available, and the controller manager reports ``ProgressDeadlineExceeded`` once its
``progressDeadlineSeconds`` pass (Argo CD's health: Degraded).

:func:`with_never_ready` adds that to kwok's default stages (``kwok-stages`` prints them): the
default ``pod-ready`` stage skips such Pods, and a ``pod-never-ready`` stage takes them.
"""

from __future__ import annotations

from typing import Any

import yaml

MARKER = "never-ready"
STAGE_NAME = "pod-never-ready"
# jq over the Pod: does any container run an image whose reference contains the marker?
IMAGE_QUERY = f'.spec.containers | map(.image | contains("{MARKER}")) | any'
NEVER_READY_STATUS = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    waiting:
      reason: CrashLoopBackOff
      message: the test bed keeps images marked never-ready from becoming ready
{{ end }}
phase: Running
startTime: {{ $now | Quote }}
"""


def never_ready_stage() -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": STAGE_NAME},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {
                "matchExpressions": [
                    {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                    {"key": ".status.phase", "operator": "In", "values": ["Pending"]},
                    {"key": IMAGE_QUERY, "operator": "In", "values": ["true"]},
                ]
            },
            "next": {"statusTemplate": NEVER_READY_STATUS},
        },
    }


def with_never_ready(default_stages: str) -> str:
    """kwok's default stages (a YAML stream) with the never-ready rule added; unchanged when it
    is there already. Raises ValueError when the stream has no ``pod-ready`` stage."""
    docs = [d for d in yaml.safe_load_all(default_stages) if d]
    names = [str((d.get("metadata") or {}).get("name") or "") for d in docs]
    if STAGE_NAME in names:
        return default_stages
    ready = next((d for d in docs if d.get("metadata", {}).get("name") == "pod-ready"), None)
    if ready is None:
        raise ValueError("kwok's default stages have no pod-ready stage")
    ready["spec"]["selector"]["matchExpressions"].append(
        {"key": IMAGE_QUERY, "operator": "NotIn", "values": ["true"]}
    )
    docs.append(never_ready_stage())
    return yaml.safe_dump_all(docs, sort_keys=False)


def has_never_ready(stages_text: str) -> bool:
    """Whether a stages file holds the never-ready rule (a bed started before it does not)."""
    return any(
        (d or {}).get("metadata", {}).get("name") == STAGE_NAME
        for d in yaml.safe_load_all(stages_text)
    )
