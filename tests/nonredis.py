"""Loopback servers that listen where a Redis should be but do not speak Redis."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer


class _Nonsense(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(1024)
        self.request.sendall(b"HELLO this is not redis\r\n")


class _Http(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        del format, args  # keep the test output clean


@contextmanager
def serving(kind: str) -> Iterator[str]:
    """A `redis://` URL at which a `kind` server ("nonsense" or "http") listens."""
    server: socketserver.TCPServer = (
        HTTPServer(("127.0.0.1", 0), _Http)
        if kind == "http"
        else socketserver.TCPServer(("127.0.0.1", 0), _Nonsense)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
