"""The threading TCP server of the tests' protocol-level stand-ins (Kafka, MongoDB, Bolt, ...)."""

import socketserver


class LoopbackServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    # socketserver listens with a backlog of 5. A client that opens dozens of connections at
    # once (the drivers' async cases, a producer's metadata and data connections) overflows
    # it while the accepting thread waits for the GIL; Linux then drops the SYNs and the
    # client's retries back off for up to a minute. One neo4j matrix run counted 458 listen
    # overflows (`nstat TcpExtListenOverflows`) with the default and none with this, and a
    # CI run timed out on it once.
    request_queue_size = 128
