"""Serve a WSGI app on loopback in a background thread (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from werkzeug.serving import make_server

# One line per request drowns test and benchmark output; errors still reach the log.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class BackgroundServer:
    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self._server = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def serve_in_background(app, host: str = "127.0.0.1", port: int = 0) -> Iterator[BackgroundServer]:
    server = BackgroundServer(app, host, port).start()
    try:
        yield server
    finally:
        server.stop()


def serve_forever(app, host: str, port: int) -> None:
    server = make_server(host, port, app, threaded=True)
    print(f"serving on http://{host}:{server.server_port}", flush=True)
    server.serve_forever()
