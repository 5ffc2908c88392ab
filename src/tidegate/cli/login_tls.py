"""``tidegate login``'s TLS test and SSO callback URL, as argocd's login has them.

Unless ``--plaintext``, ``--insecure`` or ``--skip-test-tls`` is given, login first tests the
server: a TLS handshake with verification. A server that does not speak TLS is offered a plain
HTTP login (``WARNING: server is not configured with TLS. Proceed (y/n)?``), a certificate that
does not verify an insecure one (``WARNING: server certificate had error: ... Proceed insecurely
(y/n)?``); anything but ``y``/``yes`` (an empty or closed stdin too) ends the login, exit 1,
naming the flag that would allow it. ``--skip-test-tls`` skips the test (argocd: "this can help
when the command hangs"): TLS is used and verified, as the flags say.

``--callback URL`` (argocd: "Scheme, Host and Port for the callback URL") is where the identity
provider sends the browser back after an SSO login, instead of ``http://localhost:<--sso-port>``
(behind a port forward or on another host name); the login still listens on ``--sso-port``.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import sys
import urllib.parse

from tidegate.cli import output

TEST_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class TlsTest:
    tls: bool  # the server completed a TLS handshake (verified or not)
    cert_error: str = ""  # why its certificate did not verify ("" when it did)


def test_tls(address: str, *, timeout: float = TEST_SECONDS) -> TlsTest:
    """Handshake with ``address`` (``HOST:PORT``): does it speak TLS, does its certificate
    verify? An unreachable server is exit 1."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or address
    try:
        port_number = int(port) if port else 443
    except ValueError:
        raise output.fail(f"{address!r} is not HOST:PORT", 2) from None
    context = ssl.create_default_context()
    try:
        with socket.create_connection((host, port_number), timeout=timeout) as sock:
            try:
                with context.wrap_socket(sock, server_hostname=host):
                    return TlsTest(tls=True)
            except ssl.SSLCertVerificationError as exc:
                return TlsTest(tls=True, cert_error=str(exc.verify_message or exc))
            except (ssl.SSLError, ConnectionResetError):
                return TlsTest(tls=False)
    except OSError as exc:
        raise output.fail(f"cannot reach {address}: {exc.strerror or exc}") from None


def _ask(question: str) -> bool:
    sys.stderr.write(f"{question} ")
    sys.stderr.flush()
    answer = sys.stdin.readline() if sys.stdin is not None else ""
    return answer.strip().lower() in ("y", "yes")


def settle(address: str, *, plaintext: bool, insecure: bool) -> tuple[bool, bool]:
    """(plaintext, insecure) after argocd's TLS test and the user's answers."""
    found = test_tls(address)
    if not found.tls:
        if not _ask("WARNING: server is not configured with TLS. Proceed (y/n)?"):
            raise output.fail(f"{address} does not speak TLS: log in with --plaintext")
        return True, insecure
    if found.cert_error and not insecure:
        question = f"WARNING: server certificate had error: {found.cert_error}. Proceed insecurely"
        if not _ask(f"{question} (y/n)?"):
            raise output.fail(
                f"{address}: the server's certificate does not verify ({found.cert_error});"
                " a self-signed certificate needs --insecure"
            )
        return plaintext, True
    return plaintext, insecure


def callback_base(callback: str | None, port: int) -> str:
    """The SSO redirect's scheme, host and port: ``--callback``, else localhost:``port``.
    A URL with a path, a query or another scheme than http(s) is exit 2."""
    if not callback:
        return f"http://localhost:{port}"
    parts = urllib.parse.urlsplit(callback)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise output.fail(f"--callback: {callback!r} is not http(s)://HOST[:PORT]", 2)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise output.fail(
            f"--callback: {callback!r} has a path or query; give the scheme, host and port only"
            " (the path is /auth/callback)",
            2,
        )
    return f"{parts.scheme}://{parts.netloc}"
