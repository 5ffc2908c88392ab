"""One exception tree for all of Tidegate.

Retry policy is carried by the type: a :class:`PermanentError` is not retried until its input
changes, a :class:`TemporaryError` carries the delay before the next attempt.
"""

from __future__ import annotations


class TidegateError(Exception):
    """Base of every error Tidegate raises on purpose. The message names the object and cause."""


class PermanentError(TidegateError):
    """Retrying with the same input cannot succeed (bad YAML, a path escaping the repo...)."""


class TemporaryError(TidegateError):
    """May succeed later (network, an API server restarting); ``delay`` is a hint in seconds."""

    def __init__(self, message: str, *, delay: float = 5.0) -> None:
        super().__init__(message)
        self.delay = delay


class ConfigError(PermanentError):
    """Invalid configuration or arguments given by the user."""


class SpecError(PermanentError):
    """A declarative object (Application, AppProject...) is invalid; names the field path."""


class SourceError(TidegateError):
    """Git: a repository could not be fetched or a revision resolved."""


class RepoUnreachableError(SourceError, TemporaryError):
    """The git server could not be reached or refused the connection."""


class AuthenticationError(SourceError, PermanentError):
    """The git server rejected the credentials."""


class RevisionNotFoundError(SourceError, PermanentError):
    """A branch, tag or commit does not exist in the repository."""


class SignatureError(SourceError, PermanentError):
    """A target revision fails its project's ``signatureKeys`` (unsigned, badly signed, or
    signed by a key the project does not list), or its signature could not be checked."""


class RenderError(PermanentError):
    """Manifests could not be rendered from a source; names the file and the cause."""


class PathEscapeError(RenderError):
    """A path (source path, value file, symlink target) resolves outside the repository."""


class ManifestError(RenderError):
    """A manifest is invalid: bad YAML, missing apiVersion/kind, too large, an alias bomb."""


class RenderTimeoutError(RenderError):
    """A renderer subprocess (helm, kustomize) ran past its timeout."""


class ReferenceRefusedError(RenderError):
    """A kustomization or Helm reference names something a render may not read: a ``file://``
    URL, a local path outside the repository, a repository the project does not permit..."""


class KubeError(TidegateError):
    """The Kubernetes API refused a request or could not be reached."""


class ClusterUnreachableError(KubeError, TemporaryError):
    """The cluster's API server could not be reached."""


class TestEnvError(TidegateError):
    """The local test bed could not be built, started or stopped."""


class KubeApiError(KubeError):
    """The API server answered a request with an error Status (``code``, ``reason``)."""

    def __init__(self, message: str, *, code: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class KubeNotFoundError(KubeApiError):
    """The object (or its namespace / API) does not exist (HTTP 404)."""


class KubeConflictError(KubeApiError):
    """A conflict: field-manager conflict on apply, stale update, or already exists (HTTP 409)."""


class KubeServerError(KubeApiError, TemporaryError):
    """The API server is overloaded or failing (HTTP 429, 5xx): retry later."""


class UnknownKindError(KubeError):
    """A kind is not served by the cluster even after refreshing API discovery."""


class ApplicationSetError(SpecError):
    """An ApplicationSet cannot produce its Applications; names the set, the field and the cause."""


class GeneratorError(ApplicationSetError):
    """A generator is invalid or failed (bad spec, matrix arity, nesting depth, unreadable file)."""


class TemplateError(ApplicationSetError):
    """A template (fasttemplate, Go template or templatePatch) could not be rendered."""


class RepoNotFoundError(SourceError, PermanentError):
    """The git server has no repository at the URL (HTTP 404, no such path over SSH)."""


class UnsafeRepositoryError(SourceError, PermanentError):
    """A repository sent objects that fail git's integrity checks (fsck) or a tree entry whose
    name could write outside the checkout (``..``, ``/``, ``.git``...); nothing is written."""


class PathNotFoundError(SourceError, PermanentError):
    """A file or directory does not exist in a repository at the given commit."""


class WebhookError(PermanentError):
    """A webhook delivery was refused; ``status`` is the HTTP status to answer with.

    Messages name the provider and the header or field at fault, never a secret or signature.
    """

    status: int = 400


class WebhookEventError(WebhookError):
    """The delivery is not an event Tidegate handles (unknown provider, not a push)."""

    status = 400


class WebhookPayloadError(WebhookError):
    """The body is not valid JSON or lacks a field a push event must have."""

    status = 400


class WebhookSignatureError(WebhookError):
    """A webhook secret is configured and the delivery's signature or token is missing or wrong."""

    status = 401


class WebhookPayloadTooLargeError(WebhookError):
    """The body is larger than the configured limit (checked while it streams in)."""

    status = 413


class LimitExceededError(PermanentError):
    """Tenant input asked for more than a documented bound allows: a jq expression ran past its
    timeout or memory limit, a template asked for too much output. Names the input and the limit."""


class TemplateLimitError(TemplateError, LimitExceededError):
    """A template asked for more output, work or loop iterations than the engine's limits."""


class ProjectPermissionError(SpecError):
    """Objects an app renders are not permitted by its AppProject; names each object and rule."""


class ClusterScopeError(PermanentError):
    """Objects fall outside what their cluster's registration (``namespaces``,
    ``clusterResources``) lets Tidegate manage; names each object (a ComparisonError)."""


class FenceError(TidegateError):
    """A write was stopped before it was sent: this controller replica no longer holds the
    shard (Lease) the work belongs to. Another replica takes the work over; nothing is retried
    here."""
