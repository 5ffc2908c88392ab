"""The controller's HTTP endpoints, as the Sealed Secrets controller serves them (I/O).

``GET /v1/cert.pem`` (the newest active certificate, ``application/x-pem-file``),
``POST /v1/verify`` (body: a SealedSecret in JSON; 200 when it decrypts, 409 when not),
``POST /v1/rotate`` (the SealedSecret re-encrypted with the newest key; 409 when it does not
decrypt), ``GET /healthz``. Only public certificates, ciphertext and yes/no answers ever leave:
no plaintext, no key.
A deliberately small HTTP/1.1 server (one request per connection) on asyncio streams.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.sealedsecrets import crypto, keys, unsealing

log = logging.getLogger(__name__)
MAX_BODY: Final = 1 << 20
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    503: "Service Unavailable",
}


def answer(
    method: str, path: str, body: bytes, current: Sequence[keys.SealingKey]
) -> tuple[int, str, bytes]:
    """(status, content type, body) for one request (pure)."""
    if path == "/healthz":
        return 200, "text/plain", b"ok"
    if path == "/v1/cert.pem" and method == "GET":
        latest = keys.newest(current)
        if latest is None:
            return 503, "text/plain", b"no active sealing key\n"
        return 200, "application/x-pem-file", keys.certificate_pem(latest.certificate)
    if path in ("/v1/verify", "/v1/rotate") and method == "POST":
        try:
            sealed = json.loads(body)
            if not isinstance(sealed, dict):
                raise ValueError
        except ValueError:
            return 400, "text/plain", b"body is not a SealedSecret in JSON\n"
        private: list[rsa.RSAPrivateKey] = [k.private_key for k in current]
        latest = keys.newest(current)
        try:
            if path == "/v1/verify":
                unsealing.decrypt_values(sealed, private)
                return 200, "text/plain", b""
            if latest is None:
                return 503, "text/plain", b"no active sealing key\n"
            public = keys.public_key_of(latest.certificate, source=latest.name)
            rotated = unsealing.reencrypt(sealed, private, public)
        except crypto.UnsealError:
            return 409, "text/plain", b"cannot decrypt\n"
        except crypto.SealError as exc:
            return 400, "text/plain", f"{exc}\n".encode()
        return 200, "application/json", json.dumps(rotated).encode()
    return 404, "text/plain", b"not found\n"


async def serve(
    host: str, port: int, current: Callable[[], Sequence[keys.SealingKey]]
) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = ([*lines[0].split(" "), "", "", ""])[:3]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            if length > MAX_BODY:
                code, ctype, payload = 413, "text/plain", b"too large\n"
            else:
                body = await reader.readexactly(length) if length else b""
                code, ctype, payload = answer(method, target.split("?")[0], body, current())
            writer.write(
                f"HTTP/1.1 {code} {_REASONS.get(code, '')}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host or None, port)
