"""An HTTP server that records every request, for notification and webhook tests and benches.

``Recorder()`` listens on a free loopback port (``url``) from a daemon thread; ``requests``
holds ``{method, path, headers, body, at}`` (``at``: ``time.perf_counter()`` on arrival).
Paths starting with ``/fail`` answer 500 and ``/slow`` answers after ``slow_seconds``, so that
retries and timeouts meet a real receiver. ``close()`` stops it.
"""

from __future__ import annotations

import http.server
import threading
import time
from typing import Any


class Recorder:
    def __init__(self, *, slow_seconds: float = 5.0) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body.decode(errors="replace"),
                        "at": time.perf_counter(),
                    }
                )
                if self.path.startswith("/slow"):
                    time.sleep(slow_seconds)
                try:
                    self.send_response(500 if self.path.startswith("/fail") else 200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (its timeout): that is the point

            do_GET = do_POST = do_PUT = do_PATCH = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, prefix: str) -> list[dict[str, Any]]:
        """The requests whose path starts with ``prefix``, in arrival order."""
        return [r for r in list(self.requests) if r["path"].startswith(prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
