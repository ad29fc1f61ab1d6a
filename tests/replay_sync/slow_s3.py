"""A TCP proxy in front of the S3 server that stalls each connection's responses after a number
of bytes until released: a real slow store, so a pull can be caught (or killed) mid-download."""

from __future__ import annotations

import contextlib
import socket
import threading


class StallingProxy:
    def __init__(self, upstream: str, stall_after: int):
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream = (host, int(port.rstrip("/")))
        self.stall_after = stall_after
        self.released = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, stall: bool) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if stall and not self.released.is_set() and sent + len(data) > self.stall_after:
                    head = max(self.stall_after - sent, 0)
                    sink.sendall(data[:head])
                    sent += head
                    data = data[head:]
                    self.released.wait()
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.released.set()
        for s in self._sockets:
            s.close()
