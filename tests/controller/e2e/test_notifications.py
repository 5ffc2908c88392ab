"""Notifications from a running controller to real receivers: an HTTP server that records
requests (webhook, Slack, Teams, GitHub) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller as SmtpController

from tidegate.testenv import procs, scenario, wait
from tidegate.testenv.receiver import Recorder
from tidegate.testenv.scenario import GitOps, application, synced_healthy

pytestmark = pytest.mark.e2e

HOOK_TOKEN = "Bearer s3cr3t-hook-token-never-logged"
GH_TOKEN = "ghp-s3cr3t-github-token"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: blue\n"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode())
        )
        return "250 OK"


@pytest.fixture
def receivers() -> Iterator[tuple[Recorder, Mailbox, int]]:
    recorder, mailbox = Recorder(), Mailbox()
    port = procs.free_port()
    smtp = SmtpController(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        yield recorder, mailbox, port
    finally:
        smtp.stop()
        recorder.close()


def _config(url: str, smtp_port: int) -> dict[str, str]:
    hook_body = '{"app": "{{.app.metadata.name}}", "revision": "{{.app.status.operationState.syncResult.revision}}"}'  # noqa: E501
    return {
        "context": f"argocdUrl: {url}/ui",
        "service.webhook.hook": yaml.safe_dump(
            {"url": f"{url}/hook", "headers": [{"name": "Authorization", "value": "$hook-token"}]}
        ),
        "service.webhook.broken": yaml.safe_dump(
            {"url": f"{url}/fail", "retryMax": 2, "retryWaitMin": "50ms", "retryWaitMax": "100ms"}
        ),
        "service.webhook.slow": yaml.safe_dump(
            {"url": f"{url}/slow", "timeout": "500ms", "retryMax": 0}
        ),
        "service.slack": yaml.safe_dump({"webhookURL": f"{url}/slack"}),
        "service.teams": yaml.safe_dump({"recipientUrls": {"ops": f"{url}/teams"}}),
        "service.github": yaml.safe_dump({"token": "$gh-token", "apiURL": f"{url}/gh"}),
        "service.email": yaml.safe_dump(
            {"host": "127.0.0.1", "port": smtp_port, "from": "tidegate@example.com"}
        ),
        "template.hook-deployed": yaml.safe_dump(
            {
                "message": "{{.app.metadata.name}} deployed",
                "webhook": {
                    name: {"method": "POST", "path": "/deployed", "body": hook_body}
                    for name in ("hook", "broken", "slow")
                },
                "github": {
                    "repoURLPath": "{{.app.spec.source.repoURL}}",
                    "revisionPath": "{{.app.status.operationState.syncResult.revision}}",
                    "status": {
                        "state": "success",
                        "label": "tidegate/deploy",
                        "targetURL": "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}",
                    },
                },
            }
        ),
        "trigger.on-hook": yaml.safe_dump(
            [
                {
                    "when": "app.status.operationState?.phase in ['Succeeded']",
                    "oncePer": "app.status.operationState?.syncResult?.revision",
                    "send": ["hook-deployed"],
                }
            ]
        ),
        "trigger.bad": "- when: app.status |> frobnicate()\n  send: [hook-deployed]\n",
    }


def test_notifications_reach_real_receivers(
    gitops: GitOps, receivers: tuple[Recorder, Mailbox, int]
) -> None:
    recorder, mailbox, smtp_port = receivers
    ns = gitops.namespace
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "argocd-notifications-secret", "namespace": ns},
        "data": {
            "hook-token": base64.b64encode(HOOK_TOKEN.encode()).decode(),
            "gh-token": base64.b64encode(GH_TOKEN.encode()).decode(),
        },
    }
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-notifications-cm", "namespace": ns},
        "data": _config(recorder.url, smtp_port),
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [secret, cm])
    repo, work = gitops.repo({"apps/n/configmap.yaml": CONFIGMAP})
    app = application(
        "notified", repo_url=repo.http_url, path="apps/n",
        server=gitops.bed.clusters["dev"].server, namespace=f"n-{ns}",
    )  # fmt: skip
    sub = "notifications.argoproj.io/subscribe."
    app["metadata"]["annotations"] = {
        f"{sub}on-hook.hook": "",
        f"{sub}on-hook.github": "",
        f"{sub}on-hook.broken": "",
        f"{sub}on-hook.slow": "",
        f"{sub}on-sync-succeeded.slack": "#deploys",
        f"{sub}on-sync-succeeded.email": "dev@example.com; lead@example.com",
        f"{sub}on-sync-succeeded.teams": "ops",
    }
    gitops.create_app(app)
    first = work.head()
    gitops.wait_app("notified", lambda a: synced_healthy(a, first), timeout=90, what="Synced")

    async def delivered() -> bool:
        return bool(
            recorder.at("/hook") and recorder.at("/slack") and recorder.at("/teams")
            and recorder.at("/gh") and len(mailbox.messages) >= 2
            and len(recorder.at("/fail")) >= 3
        )  # fmt: skip

    asyncio.run(wait.eventually(delivered, within=60, every=0.2))
    hooks = recorder.at("/hook")
    assert len(hooks) == 1, [h["body"] for h in hooks]
    (hook,) = hooks
    assert hook["method"] == "POST" and hook["path"] == "/hook/deployed"
    assert hook["headers"]["Authorization"] == HOOK_TOKEN
    assert json.loads(hook["body"]) == {"app": "notified", "revision": first}
    (slack,) = recorder.at("/slack")
    payload = json.loads(slack["body"])
    assert payload["text"].startswith(
        ":white_check_mark: Application notified has been successfully synced"
    )
    assert f"{recorder.url}/ui/applications/notified" in payload["text"]
    assert payload["attachments"][0]["title"] == "notified"
    (teams,) = recorder.at("/teams")
    card = json.loads(teams["body"])
    assert card["@type"] == "MessageCard" and "successfully synced" in card["title"]
    (gh,) = recorder.at("/gh")
    assert gh["path"].startswith("/gh/repos/") and gh["path"].endswith(f"/statuses/{first}")
    assert gh["headers"]["Authorization"] == f"Bearer {GH_TOKEN}"
    assert json.loads(gh["body"])["target_url"] == f"{recorder.url}/ui/applications/notified"
    assert sorted(rcpt for _, rcpts, _ in mailbox.messages for rcpt in rcpts) == [
        "dev@example.com", "lead@example.com"
    ]  # fmt: skip
    assert "Subject: Application notified has been successfully synced." in mailbox.messages[0][2]
    # The receiver answering 500: one attempt and two retries, then given up and logged.
    log_text = asyncio.run(
        wait.eventually(
            lambda: (
                (t := gitops.controller.log.read_text())
                and "after 3 attempts" in t
                and "no answer within 0.5s" in t
                and t
            ),
            within=30,
        )
    )
    assert len(recorder.at("/fail")) == 3
    assert "trigger.bad[0]" in log_text  # refused at load, named
    assert HOOK_TOKEN not in log_text and GH_TOKEN not in log_text
    # The notified state is on the app; a new commit notifies once more, for its revision.
    state = json.loads(
        gitops.get_app("notified")["metadata"]["annotations"]["notified.notifications.argoproj.io"]
    )
    assert any(k.startswith(f"{first}:on-hook:") and k.endswith(":hook:") for k in state)
    second = work.commit({"apps/n/configmap.yaml": CONFIGMAP.replace("blue", "green")}, "green")
    gitops.wait_app("notified", lambda a: synced_healthy(a, second), timeout=90, what="resynced")
    asyncio.run(wait.eventually(lambda: len(recorder.at("/hook")) >= 2, within=30))
    assert [json.loads(r["body"])["revision"] for r in recorder.at("/hook")] == [first, second]

    # Trying the config by hand, as `argocd admin notifications` does.
    def admin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tidegate", "admin", "notifications", *args,
             f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}", "-n", ns],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    ran = admin("trigger", "run", "on-sync-succeeded", "notified")
    assert ran.returncode == 0, ran.stderr
    header, row = ran.stdout.splitlines()[:2]
    assert header.split() == ["CONDITION", "RESULT"] and row.split()[-1] == "True"
    bad = admin("trigger", "run", "bad", "notified")
    assert bad.returncode == 1 and "trigger.bad[0]" in bad.stderr
    slack_before = len(recorder.at("/slack"))
    sent = admin("template", "notify", "app-sync-failed", "notified", "--recipient", "slack:#ops")
    assert sent.returncode == 0, sent.stderr
    assert len(recorder.at("/slack")) == slack_before + 1
    assert "has failed" in json.loads(recorder.at("/slack")[-1]["body"])["text"]
    failed = admin("template", "notify", "hook-deployed", "notified", "--recipient", "broken:")
    assert failed.returncode == 1 and "answered 500" in failed.stderr
    assert HOOK_TOKEN not in failed.stderr
