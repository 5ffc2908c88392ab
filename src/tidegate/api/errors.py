"""Errors in Argo CD's (grpc-gateway v1) JSON shape: ``{"error", "code", "message", "details"}``.

``code`` is the gRPC code the HTTP status stands for, as Argo CD's gateway maps them. Every
error the server answers goes through :func:`response`, so no handler invents its own shape.
"""

from __future__ import annotations

import logging

import fastapi
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tidegate.auth import access, tokens
from tidegate.model import errors
from tidegate.sync import request as op_request

log = logging.getLogger(__name__)

# HTTP status -> gRPC code (grpc-gateway v1's HTTPStatusFromCode, inverted for our statuses).
GRPC_CODES = {
    400: 3,  # InvalidArgument (FailedPrecondition also maps to 400)
    401: 16,  # Unauthenticated
    403: 7,  # PermissionDenied
    404: 5,  # NotFound
    405: 12,  # Unimplemented
    409: 6,  # AlreadyExists (Aborted also maps to 409)
    413: 8,  # ResourceExhausted
    415: 3,
    429: 8,
    500: 13,  # Internal
    503: 14,  # Unavailable
    504: 4,  # DeadlineExceeded
}


class ApiError(errors.TidegateError):
    """An answer other than success: HTTP ``status`` and a message for the client."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        grpc_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.grpc_code = grpc_code if grpc_code is not None else GRPC_CODES.get(status, 2)
        self.headers = headers  # sent with the error (e.g. Retry-After)


def body(status: int, message: str, grpc_code: int | None = None) -> dict[str, object]:
    code = grpc_code if grpc_code is not None else GRPC_CODES.get(status, 2)
    return {"error": message, "code": code, "message": message, "details": []}


def response(
    status: int,
    message: str,
    *,
    grpc_code: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(body(status, message, grpc_code), status_code=status, headers=headers)


def from_exception(exc: BaseException) -> ApiError:
    """The answer for an error raised by the engine or the management cluster."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, tokens.TokenError):
        return ApiError(401, "invalid session: " + str(exc))
    if isinstance(exc, access.PermissionDeniedError):
        return ApiError(403, str(exc))
    if isinstance(exc, op_request.FlagError):
        return ApiError(400, str(exc))
    if isinstance(exc, errors.KubeNotFoundError):
        return ApiError(404, str(exc))
    if isinstance(exc, errors.KubeConflictError):
        return ApiError(409, str(exc), grpc_code=10)  # Aborted: changed meanwhile
    if isinstance(exc, errors.KubeApiError) and exc.code in (400, 422):
        return ApiError(400, str(exc))
    if isinstance(exc, errors.SpecError | errors.ConfigError):
        return ApiError(400, str(exc), grpc_code=9 if isinstance(exc, errors.ConfigError) else 3)
    if isinstance(exc, errors.TemporaryError | errors.KubeError):
        return ApiError(503, str(exc))
    return ApiError(500, "internal error")


def of_request(exc: errors.TidegateError, what: str) -> ApiError:
    """The answer for an engine failure while working on the request's object ``what``
    (rendering, generating): the object's problem is a 400 naming it; an unreachable cluster
    or another passing failure stays what it is (503)."""
    err = from_exception(exc)
    if err.status >= 500 and not isinstance(exc, errors.TemporaryError | errors.KubeError):
        return ApiError(400, f"{what}: {exc}")
    return err


def install(app: fastapi.FastAPI) -> None:
    """Answer every error (ours, FastAPI's validation, unknown routes) in the same shape."""

    @app.exception_handler(errors.TidegateError)
    async def tidegate_error(request: Request, exc: errors.TidegateError) -> Response:
        err = from_exception(exc)
        if err.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return response(err.status, err.message, grpc_code=err.grpc_code, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for item in exc.errors()[:5]:
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            problems.append(f"{where}: {item.get('msg')}")
        return response(400, "invalid request: " + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such path: {request.url.path[:200]}"
        return response(exc.status_code, message)
