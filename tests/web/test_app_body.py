"""The application page's body (pure: the templates over an app of many resources): one of the
tree and the list, each node once, and a node's summary on its own."""

from __future__ import annotations

import gzip
import html.parser
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tidegate.web import pages

KINDS = (("apps", "Deployment"), ("", "Service"), ("", "ConfigMap"))
COUNT = 90


def big_app() -> dict[str, Any]:
    resources = [
        {
            "group": group,
            "version": "v1",
            "kind": kind,
            "namespace": "team",
            "name": f"{kind.lower()}-{i:03d}",
            "status": "OutOfSync" if i == 7 else "Synced",
            "health": {"status": "Healthy"},
            "requiresPruning": i == 7 and kind == "ConfigMap",
        }
        for i in range(COUNT // len(KINDS))
        for group, kind in KINDS
    ]
    return {
        "metadata": {"name": "big", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/r.git", "path": "big"},
            "destination": {"name": "dev", "namespace": "team"},
        },
        "status": {
            "resources": resources,
            "sync": {"status": "OutOfSync", "revision": "0" * 40},
            "health": {"status": "Healthy"},
        },
    }


POD = {
    "version": "v1",
    "kind": "Pod",
    "namespace": "team",
    "name": "web-1",
    "uid": "u1",
    "resourceVersion": "5",
    "health": {"status": "Healthy"},
    "info": [{"name": "Status Reason", "value": "Running"}],
    "parentRefs": [
        {"group": "apps", "kind": "Deployment", "namespace": "team", "name": "deployment-000"}
    ],
}


class Elements(html.parser.HTMLParser):
    """Every start tag of a document with its attributes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def having(self, attribute: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.tags if attribute in a]


def body(view: str) -> str:
    values = pages.app_values(big_app(), [POD], "", view=view)
    return pages.templates.get_template("app_body.html").render(
        can={"sync": "", "update": "", "delete": ""}, **values
    )


@pytest.mark.parametrize("view", ["", "tree", "history", "details", "events"])
def test_the_tree_view_carries_the_tree_once_and_no_list(view: str) -> None:
    page = Elements(body(view))
    nodes = [a["data-node"] for a in page.having("data-node")]
    assert len(nodes) == COUNT + 1  # the managed resources and the Pod, each once
    assert len(set(nodes)) == len(nodes)
    assert page.having("data-resource") == []  # no list rows
    pending = [a["class"] for a in page.having("data-pending")]
    assert pending == ["panel panel-list"]


def test_the_list_view_carries_the_list_and_no_tree() -> None:
    page = Elements(body("list"))
    rows = [a["data-resource"] for a in page.having("data-resource")]
    assert len(rows) == COUNT and len(set(rows)) == COUNT
    assert not [a for a in page.having("class") if "node" in (a["class"] or "").split()]
    assert [a["class"] for a in page.having("data-pending")] == ["panel panel-tree"]


def test_a_node_waiting_to_be_pruned_says_so_in_the_tree() -> None:
    text = body("tree")
    start = text.index('data-node="/ConfigMap/team/configmap-007"')
    assert "requires pruning" in text[start : text.index("</button>", start)]
    other = text.index('data-node="/ConfigMap/team/configmap-006"')
    assert "requires pruning" not in text[other : text.index("</button>", other)]


def node_summary(node: str) -> dict[str, str | None]:
    found = pages.node_summary(big_app(), [POD], node)
    text = pages.templates.get_template("app_node.html").render(res=found)
    summaries = Elements(text).having("data-node")
    assert len(summaries) <= 1
    return summaries[0] if summaries else {}


def test_a_node_summary_names_one_node() -> None:
    managed = node_summary("apps/Deployment/team/deployment-000")
    assert managed["data-kind"] == "Deployment" and managed["data-sync"] == "Synced"
    assert managed["data-child"] == ""
    pod = node_summary("/Pod/team/web-1")
    assert pod["data-child"] == "yes" and pod["data-info"] == "Status Reason: Running"
    assert node_summary("/Pod/team/gone") == {}


def _request(accept: str) -> Request:
    return Request({"type": "http", "headers": [(b"accept-encoding", accept.encode())]})


def test_a_big_page_is_sent_gzipped_to_a_browser_that_accepts_it() -> None:
    text = body("tree")
    sent = pages.compressed(_request("gzip, deflate, br"), HTMLResponse(text))
    assert sent.headers["content-encoding"] == "gzip"
    assert sent.headers["vary"] == "Accept-Encoding"
    assert int(sent.headers["content-length"]) == len(sent.body) < len(text.encode()) // 4
    assert gzip.decompress(sent.body).decode() == text


@pytest.mark.parametrize(("accept", "size"), [("", 100_000), ("gzip", 1_000)])
def test_a_small_page_or_a_client_without_gzip_gets_it_as_it_is(accept: str, size: int) -> None:
    text = "x" * size
    sent = pages.compressed(_request(accept), HTMLResponse(text))
    assert "content-encoding" not in sent.headers
    assert sent.body == text.encode()
