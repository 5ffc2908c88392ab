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


class RenderError(PermanentError):
    """Manifests could not be rendered from a source; names the file and the cause."""


class PathEscapeError(RenderError):
    """A path (source path, value file, symlink target) resolves outside the repository."""


class ManifestError(RenderError):
    """A manifest is invalid: bad YAML, missing apiVersion/kind, too large, an alias bomb."""


class RenderTimeoutError(RenderError):
    """A renderer subprocess (helm, kustomize) ran past its timeout."""


class KubeError(TidegateError):
    """The Kubernetes API refused a request or could not be reached."""


class ClusterUnreachableError(KubeError, TemporaryError):
    """The cluster's API server could not be reached."""


class TestEnvError(TidegateError):
    """The local test bed could not be built, started or stopped."""
