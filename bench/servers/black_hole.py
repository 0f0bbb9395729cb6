"""A backend that accepts TCP connections and never answers: the outage where the host is up but hung.

Usage: python black_hole.py PORT  (prints ``ready`` once listening; stops on SIGTERM)

Connections are accepted and held, and nothing is read from them, so a client's handshake
never completes and, once the kernel's buffers are full, its writes stop too. On SIGTERM every
connection is reset (SO_LINGER 0) rather than closed, so the port is left without TIME_WAIT
sockets and a real backend can take it over at once.
"""

from __future__ import annotations

import signal
import socket
import struct
import sys


def main() -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', int(sys.argv[1])))
    listener.listen(128)
    held: list[socket.socket] = []

    def stop(_signum: int, _frame: object) -> None:
        for connection in held:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            connection.close()
        listener.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print('ready', flush=True)
    while True:
        connection, _address = listener.accept()
        held.append(connection)


if __name__ == '__main__':
    main()
