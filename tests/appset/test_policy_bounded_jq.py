"""ignoreApplicationDifferences jq expressions evaluated through the bounded worker pool: the
same plan as in-process, and an expression that never ends is an error naming the Application."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from tidegate.appset import applications, policy, reconcile
from tidegate.model import errors
from tidegate.sandbox import jqpool

from . import support
from .test_policy import _existing

CASE = next(c for c in support.cases("policy.yaml") if "jq rule" in c["name"])


async def test_the_bounded_plan_equals_the_in_process_plan() -> None:
    pool = jqpool.JqPool(workers=1, timeout=1.0)
    try:
        desired = applications.generate_applications(CASE["appset"])
        existing = [_existing(e) for e in CASE["existing"]]
        jq = reconcile._bounded_jq(pool, asyncio.get_running_loop())
        bounded = await asyncio.to_thread(
            policy.plan_changes, CASE["appset"], desired, existing, jq=jq
        )
        assert pool.calls > 0
        assert bounded == policy.plan_changes(CASE["appset"], desired, existing)
    finally:
        await pool.aclose()


async def test_a_never_ending_expression_names_the_application() -> None:
    appset: dict[str, Any] = copy.deepcopy(CASE["appset"])
    rules = appset["spec"]["ignoreApplicationDifferences"]
    rules.append({"jqPathExpressions": ["def f: f; f"]})
    assert policy.uses_jq(appset)
    pool = jqpool.JqPool(workers=1, timeout=0.5)
    try:
        desired = applications.generate_applications(appset)
        existing = [_existing(e) for e in CASE["existing"]]
        jq = reconcile._bounded_jq(pool, asyncio.get_running_loop())
        with pytest.raises(errors.LimitExceededError) as caught:
            await asyncio.to_thread(policy.plan_changes, appset, desired, existing, jq=jq)
        message = str(caught.value)
        assert message.startswith("ignoreApplicationDifferences of Application '")
        assert "jq expression 'def f: f; f' did not finish within the timeout of 0.5s" in message
    finally:
        await pool.aclose()
