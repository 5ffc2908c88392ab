"""A loopback TCP endpoint that misbehaves on demand, for fault tests and benchmarks.

:class:`FaultProxy` listens on 127.0.0.1 and treats each new connection according to its
current :class:`Mode`:

- ``FORWARD``: relays bytes both ways to ``upstream`` (a healthy server behind it);
- ``HANG``: accepts the connection and never answers (reads and discards what arrives);
- ``FREEZE``: forwarded connections, established or new, pause: nothing is read or relayed
  until the mode is ``FORWARD`` again, when they carry on where they were (a SIGSTOPped then
  SIGCONTed server, its clients' keep-alive connections and watches included);
- ``TRICKLE``: reads the request, answers an HTTP ``200`` status and headers promising a large
  body, then sends one byte every ``trickle_every`` seconds (below any sane low-speed limit).

The mode can change while it runs (it applies to connections accepted afterwards), so a test
can make a healthy repository hang and recover. ``connections`` counts accepted connections.
Threads only: it keeps working while the test's event loop is busy.
"""

from __future__ import annotations

import contextlib
import enum
import select
import socket
import threading
from collections.abc import Callable, Iterator
from types import TracebackType

_POLL = 0.2
_TRICKLE_HEADERS = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/x-git-upload-pack-advertisement\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Content-Length: 1000000\r\n\r\n"
)


class Mode(enum.StrEnum):
    FORWARD = "forward"
    HANG = "hang"
    FREEZE = "freeze"
    TRICKLE = "trickle"


class FaultProxy:
    def __init__(
        self,
        mode: Mode,
        *,
        upstream: tuple[str, int] | None = None,
        trickle_every: float = 0.5,
    ) -> None:
        if mode is Mode.FORWARD and upstream is None:
            raise ValueError("FORWARD needs an upstream")
        self.mode = mode
        self.upstream = upstream
        self.trickle_every = trickle_every
        self.connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self.port: int = self._listener.getsockname()[1]
        self._spawn(self._accept_loop)

    def url(self, path: str, *, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            sockets = [self._listener, *self._sockets]
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- connections ----------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _keep(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        return sock

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._keep(conn)
            with self._lock:
                self.connections += 1
            mode = self.mode
            if mode in (Mode.FORWARD, Mode.FREEZE):
                self._spawn(self._forward, conn)
            elif mode is Mode.TRICKLE:
                self._spawn(self._trickle, conn)
            else:
                self._spawn(self._swallow, conn)

    def _readable(self, *socks: socket.socket) -> Iterator[socket.socket]:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select(list(socks), [], [], _POLL)
            except (OSError, ValueError):
                return
            yield from ready

    def _swallow(self, conn: socket.socket) -> None:
        for sock in self._readable(conn):
            try:
                if not sock.recv(65536):
                    return
            except OSError:
                return

    def _trickle(self, conn: socket.socket) -> None:
        received = b""
        for sock in self._readable(conn):
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            received += chunk
            if b"\r\n\r\n" in received:
                break
        try:
            conn.sendall(_TRICKLE_HEADERS)
            while not self._stop.wait(self.trickle_every):
                conn.sendall(b"0")
        except OSError:
            return

    def _forward(self, conn: socket.socket) -> None:
        assert self.upstream is not None
        try:
            upstream = self._keep(socket.create_connection(self.upstream, timeout=10))
        except OSError:
            conn.close()
            return
        peers = {conn: upstream, upstream: conn}
        while not self._stop.is_set():
            if self.mode is Mode.FREEZE:  # paused: the bytes wait in the sockets' buffers
                self._stop.wait(_POLL)
                continue
            try:
                ready, _, _ = select.select([conn, upstream], [], [], _POLL)
            except (OSError, ValueError):
                break
            try:
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionResetError
                    peers[sock].sendall(data)
            except OSError:
                break
        for sock in (conn, upstream):
            with contextlib.suppress(OSError):
                sock.close()
