"""The expr-lang expression subset that Argo's tools evaluate, implemented once.

Argo Rollouts' analysis conditions (``result[0] >= 0.95``), argocd-notifications' ``when``
conditions (``app.status.operationState.phase in ['Error', 'Failed']``) and Kargo's ``${{ }}``
expressions all use the expr language. :func:`compile` checks an expression when its resource
is loaded, so that anything outside the subset is refused up front with
:class:`ExprError` naming the position and the cause; :meth:`Program.evaluate` runs it against
an environment of plain Python values (see docs/expr.md for the subset).
"""

from __future__ import annotations

from tidegate.expr.errors import ExprError
from tidegate.expr.program import Program, compile

__all__ = ["ExprError", "Program", "compile"]
