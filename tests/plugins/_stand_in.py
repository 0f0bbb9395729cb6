"""The socket plumbing every protocol-level stand-in shares (MongoDB, Neo4j's Bolt, HBase's
Thrift server): a threaded TCP server on a free local port whose connections are each handed
to the stand-in's `serve`, and a `stop`. A client hanging up ends its connection quietly."""

from __future__ import annotations

import socket
import socketserver
import threading

from tests.loopback_server import LoopbackServer


class TcpStandIn:
    """Subclasses set their state, then call ``super().__init__()`` (which starts serving), and
    implement `serve` for one connection."""

    def __init__(self) -> None:
        stand_in = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    stand_in.serve(self.request)
                except (ConnectionError, OSError):
                    return

        self.server = LoopbackServer(('127.0.0.1', 0), Handler)
        self.port: int = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, sock: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
