"""The default trigger and template catalog, as argocd-notifications documents it (pure data).

Written from the catalog's documented behaviour (its triggers table and template fields):
eight triggers, each sending one template. A ``trigger.<name>`` or ``template.<name>`` key of
``argocd-notifications-cm`` replaces the catalog entry of the same name.
"""

from __future__ import annotations

from typing import Any

REVISION = "app.status.operationState?.syncResult?.revision"
APP_LINK = "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}"

TRIGGERS: dict[str, list[dict[str, Any]]] = {
    "on-created": [
        {
            "description": "Application is created.",
            "when": "true",
            "oncePer": "app.metadata.name",
            "send": ["app-created"],
        }
    ],
    "on-deleted": [
        {
            "description": "Application is deleted.",
            "when": "app.metadata.deletionTimestamp != nil",
            "oncePer": "app.metadata.name",
            "send": ["app-deleted"],
        }
    ],
    "on-deployed": [
        {
            "description": "Application is synced and healthy. Triggered once per commit.",
            "when": "app.status.operationState != nil"
            " and app.status.operationState.phase in ['Succeeded']"
            " and app.status.health.status == 'Healthy'"
            " and (!time.Parse(app.status.health.lastTransitionTime).Add(1 * time.Minute)"
            ".Before(time.Parse(app.status.operationState.finishedAt))"
            " or time.Parse(app.status.health.lastTransitionTime)"
            ".Before(time.Parse(app.status.operationState.startedAt)))",
            "oncePer": REVISION,
            "send": ["app-deployed"],
        }
    ],
    "on-health-degraded": [
        {
            "description": "Application has degraded",
            "when": "app.status.health.status == 'Degraded'",
            "oncePer": REVISION,
            "send": ["app-health-degraded"],
        }
    ],
    "on-sync-failed": [
        {
            "description": "Application syncing has failed",
            "when": "app.status.operationState != nil"
            " and app.status.operationState.phase in ['Error', 'Failed']",
            "oncePer": REVISION,
            "send": ["app-sync-failed"],
        }
    ],
    "on-sync-running": [
        {
            "description": "Application is being synced",
            "when": "app.status.operationState != nil"
            " and app.status.operationState.phase in ['Running']",
            "oncePer": REVISION,
            "send": ["app-sync-running"],
        }
    ],
    "on-sync-status-unknown": [
        {
            "description": "Application status is 'Unknown'",
            "when": "app.status.sync.status == 'Unknown'",
            "oncePer": REVISION,
            "send": ["app-sync-status-unknown"],
        }
    ],
    "on-sync-succeeded": [
        {
            "description": "Application syncing has succeeded",
            "when": "app.status.operationState != nil"
            " and app.status.operationState.phase in ['Succeeded']",
            "oncePer": REVISION,
            "send": ["app-sync-succeeded"],
        }
    ],
}


def _template(title: str, body: str, color: str, emoji: str) -> dict[str, Any]:
    """A catalog template: a message (with an emoji on Slack), an email subject, a Slack
    attachment and a Teams card, all linking to the app."""
    message = (
        f'{{{{if eq .serviceType "slack"}}}}{emoji} {{{{end}}}}{body}\n'
        f"Application details: {APP_LINK}."
    )
    facts = (
        '[{"name": "Sync Status", "value": "{{.app.status.sync.status}}"},'
        ' {"name": "Repository", "value": "{{.app.spec.source.repoURL}}"}]'
    )
    return {
        "message": message,
        "email": {"subject": title},
        "slack": {
            "attachments": (
                '[{"title": "{{.app.metadata.name}}", "title_link": "' + APP_LINK + '",'
                ' "color": "' + color + '", "fields": [{"title": "Sync Status",'
                ' "value": "{{.app.status.sync.status}}", "short": true}]}]'
            )
        },
        "teams": {"title": title, "themeColor": color, "facts": facts},
    }


TEMPLATES: dict[str, dict[str, Any]] = {
    "app-created": _template(
        "Application {{.app.metadata.name}} has been created.",
        "Application {{.app.metadata.name}} has been created.",
        "#18be52",
        ":new:",
    ),
    "app-deleted": _template(
        "Application {{.app.metadata.name}} has been deleted.",
        "Application {{.app.metadata.name}} has been deleted.",
        "#f4c030",
        ":wastebasket:",
    ),
    "app-deployed": _template(
        "New version of an application {{.app.metadata.name}} is up and running.",
        "Application {{.app.metadata.name}} is now running new version of deployments"
        " manifests: revision {{.app.status.operationState.syncResult.revision}}.",
        "#18be52",
        ":white_check_mark:",
    ),
    "app-health-degraded": _template(
        "Application {{.app.metadata.name}} has degraded.",
        "Application {{.app.metadata.name}} has degraded.",
        "#f4c030",
        ":exclamation:",
    ),
    "app-sync-failed": _template(
        "Failed to sync application {{.app.metadata.name}}.",
        "The sync operation of application {{.app.metadata.name}} has failed at"
        " {{.app.status.operationState.finishedAt}} with the following error:"
        " {{.app.status.operationState.message}}",
        "#E96D76",
        ":exclamation:",
    ),
    "app-sync-running": _template(
        "Start syncing application {{.app.metadata.name}}.",
        "The sync operation of application {{.app.metadata.name}} has started at"
        " {{.app.status.operationState.startedAt}}.",
        "#0DADEA",
        ":arrows_counterclockwise:",
    ),
    "app-sync-status-unknown": _template(
        "Application {{.app.metadata.name}} sync status is 'Unknown'",
        "Application {{.app.metadata.name}} sync is 'Unknown'.",
        "#E96D76",
        ":exclamation:",
    ),
    "app-sync-succeeded": _template(
        "Application {{.app.metadata.name}} has been successfully synced.",
        "Application {{.app.metadata.name}} has been successfully synced at"
        " {{.app.status.operationState.finishedAt}}.",
        "#18be52",
        ":white_check_mark:",
    ),
}
