"""FaultProxy FREEZE: connections already forwarded and new ones pause (as a SIGSTOPped
server's do), and carry on where they were once the mode is FORWARD again (SIGCONT)."""

from __future__ import annotations

import socket
import threading

from tidegate.testenv.faultproxy import FaultProxy, Mode


def _echo_server() -> tuple[socket.socket, int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(1024):
            conn.sendall(data)


def _answer(sock: socket.socket, data: bytes) -> bytes | None:
    sock.sendall(data)
    try:
        return sock.recv(1024)
    except TimeoutError:
        return None


def test_freeze_pauses_established_and_new_connections_until_forward() -> None:
    listener, port = _echo_server()
    try:
        with FaultProxy(Mode.FORWARD, upstream=("127.0.0.1", port)) as proxy:
            kept = socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5)
            assert _answer(kept, b"one") == b"one"
            proxy.mode = Mode.FREEZE
            assert _answer(kept, b"two") is None  # the established connection is silent
            fresh = socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5)
            assert _answer(fresh, b"three") is None  # and so is a new one
            proxy.mode = Mode.FORWARD
            for sock in (kept, fresh):
                sock.settimeout(5)
            assert kept.recv(1024) == b"two"  # what waited is relayed, nothing is lost
            assert fresh.recv(1024) == b"three"
            for sock in (kept, fresh):
                sock.close()
    finally:
        listener.close()
