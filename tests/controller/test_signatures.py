"""controller.signatures: what a verdict means for an app of a project (messages), and that
apps whose project lists no signatureKeys cost nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.controller import signatures
from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.model import project as model_project
from tidegate.sources import gpgstatus
from tidegate.sources import signatures as source_signatures

KEY = "60556C64F49FE1B2"
OTHER = "4AEE18F83AFDEB23"
REPO = "https://git.example.com/team/app.git"
COMMIT = "f3ec33848aa7b0b9286e753158d7578b0b351139"


def _checked(verdict: gpgstatus.Verdict, *, tag: str = "") -> source_signatures.Checked:
    return source_signatures.Checked(REPO, "main", COMMIT, tag, verdict)


def _signed(outcome: gpgstatus.Outcome, key: str = KEY) -> gpgstatus.Verdict:
    return gpgstatus.Verdict(outcome, (gpgstatus.Signature(outcome, key, key, "T", True),))


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        (
            gpgstatus.Verdict(gpgstatus.Outcome.UNSIGNED),
            "revision main (f3ec33848aa7) is unsigned, but project 'secure' requires a GnuPG "
            f"signature by one of its signatureKeys ({KEY})",
        ),
        (
            _signed(gpgstatus.Outcome.GOOD, OTHER),
            f"has a good signature by key {OTHER}, but key {OTHER} is not allowed in project "
            f"'secure' (signatureKeys: {KEY})",
        ),
        (
            _signed(gpgstatus.Outcome.MISSING_KEY, OTHER),
            f"is signed with key {OTHER}, which is not in argocd-gpg-keys-cm",
        ),
        (_signed(gpgstatus.Outcome.BAD), f"bad signature (key {KEY}); project 'secure'"),
        (_signed(gpgstatus.Outcome.REVOKED_KEY), f"signed with revoked key (key {KEY})"),
    ],
)
def test_describe_names_revision_key_and_project(verdict: gpgstatus.Verdict, expected: str) -> None:
    message = signatures.describe(_checked(verdict), project="secure", allowed=[KEY])
    assert message.startswith("repository https://git.example.com/team/app.git: revision main")
    assert expected in message


def test_describe_accepts_an_allowed_good_signature_and_names_annotated_tags() -> None:
    good = _signed(gpgstatus.Outcome.GOOD)
    assert signatures.describe(_checked(good), project="p", allowed=[KEY.lower()]) == ""
    tag = "0eb6dd8d3890d4c1e2824df7db0ae4678efac60f"
    unsigned = gpgstatus.Verdict(gpgstatus.Outcome.UNSIGNED)
    message = signatures.describe(_checked(unsigned, tag=tag), project="p", allowed=[KEY])
    assert "annotated tag main (0eb6dd8d3890, commit f3ec33848aa7) is unsigned" in message


class _NoCalls:
    """A management client and verifier that fail the test when touched."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} used for an app that needs no verification")


def _app(project: str) -> model_app.Application:
    return model_app.parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "namespace": "tg"},
            "spec": {
                "project": project,
                "source": {"repoURL": REPO, "path": "app", "targetRevision": "main"},
                "destination": {"server": "https://k", "namespace": "web"},
            },
        }
    )


def _project(name: str, keys: list[str] | None) -> model_project.AppProject:
    spec: dict[str, Any] = {"sourceRepos": ["*"]}
    if keys is not None:
        spec["signatureKeys"] = [{"keyID": k} for k in keys]
    return model_project.parse_project(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": name, "namespace": "tg"},
            "spec": spec,
        }
    )


def _gate(projects: dict[str, model_project.AppProject]) -> signatures.SignatureGate:
    return signatures.SignatureGate(
        mgmt=_NoCalls(),  # type: ignore[arg-type]
        namespace="tg",
        verifier=_NoCalls(),  # type: ignore[arg-type]
        project_of=projects.get,
    )


async def test_no_signature_keys_no_cost() -> None:
    gate = _gate({"plain": _project("plain", None), "empty": _project("empty", [])})
    for project in ("plain", "empty", "missing"):
        await gate.verify(_app(project), [(REPO, "main", COMMIT)])


async def test_a_malformed_project_key_refuses_every_revision() -> None:
    gate = _gate({"typo": _project("typo", ["F49FE1B2"])})
    with pytest.raises(errors.SignatureError, match="project 'typo' signatureKeys: GnuPG key id"):
        await gate.verify(_app("typo"), [(REPO, "main", COMMIT)])
