"""A deliberately rude HTTP/2 client for the collector's gRPC port: one connection that opens
gRPC calls (HEADERS without END_STREAM, so each call stays open) as fast as it can write
them, ignoring the server's SETTINGS_MAX_CONCURRENT_STREAMS, as a hostile client would.
Frames are written by hand (a client library such as h2 keeps to the server's limit itself);
`hpack` encodes the header block. A reader thread answers SETTINGS and PING and counts
what the server says about each stream."""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

import hpack

PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
REFUSED_STREAM = 0x7


def frame(kind: int, flags: int, stream: int, payload: bytes = b'') -> bytes:
    return struct.pack('>I', len(payload))[1:] + bytes([kind, flags]) + struct.pack('>I', stream) + payload


@dataclass
class Seen:
    """What the server sent, filled in by the reader thread."""

    max_concurrent_streams: int | None = None
    refused: set[int] = field(default_factory=set)
    other_resets: set[int] = field(default_factory=set)
    answered: set[int] = field(default_factory=set)
    goaway_last_stream: int | None = None
    closed: bool = False
    ping_acks: set[bytes] = field(default_factory=set)


class Flood:
    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.seen = Seen()
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.sent: list[int] = []
        encoder = hpack.Encoder()
        # After the first block every header is one byte from the dynamic table: the same
        # block serves every stream, as a real client's would after the first call.
        headers = [
            (':method', 'POST'),
            (':scheme', 'http'),
            (':path', path),
            (':authority', f'127.0.0.1:{port}'),
            ('content-type', 'application/grpc'),
            ('te', 'trailers'),
        ]
        self.first_block = encoder.encode(headers)
        self.block = encoder.encode(headers)
        self.write(PREFACE + frame(SETTINGS, 0, 0))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def write(self, data: bytes) -> bool:
        with self.write_lock:
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                return False

    def open_streams(self, count: int, batch: int = 200) -> None:
        """Opens `count` more calls, `batch` HEADERS frames per write; stops when the
        server closes the connection."""
        next_id = (self.sent[-1] + 2) if self.sent else 1
        for start in range(0, count, batch):
            ids = range(next_id + 2 * start, next_id + 2 * min(start + batch, count), 2)
            chunk = b''.join(frame(HEADERS, END_HEADERS, i, self.first_block if i == 1 else self.block) for i in ids)
            if not self.write(chunk):
                return
            self.sent.extend(ids)

    def _read(self) -> None:
        buffer = b''
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buffer += data
                while len(buffer) >= 9:
                    length = int.from_bytes(buffer[:3], 'big')
                    if len(buffer) < 9 + length:
                        break
                    kind, flags = buffer[3], buffer[4]
                    stream = int.from_bytes(buffer[5:9], 'big') & 0x7FFFFFFF
                    payload = buffer[9 : 9 + length]
                    buffer = buffer[9 + length :]
                    self._frame(kind, flags, stream, payload)
        except OSError:
            pass
        with self.lock:
            self.seen.closed = True

    def _frame(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        with self.lock:
            if kind == SETTINGS and not flags & ACK:
                for at in range(0, len(payload) - 5, 6):
                    key, value = struct.unpack('>HI', payload[at : at + 6])
                    if key == SETTINGS_MAX_CONCURRENT_STREAMS:
                        self.seen.max_concurrent_streams = value
            elif kind == RST_STREAM:
                (code,) = struct.unpack('>I', payload[:4])
                (self.seen.refused if code == REFUSED_STREAM else self.seen.other_resets).add(stream)
            elif kind == HEADERS:
                self.seen.answered.add(stream)
            elif kind == PING and flags & ACK:
                self.seen.ping_acks.add(payload)
            elif kind == GOAWAY:
                self.seen.goaway_last_stream = int.from_bytes(payload[:4], 'big') & 0x7FFFFFFF
        if kind == SETTINGS and not flags & ACK:
            self.write(frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK:
            self.write(frame(PING, ACK, 0, payload))

    def open_on_server(self) -> set[int]:
        """Streams the server took and still holds: sent, not refused or reset, not answered,
        and within a GOAWAY's last stream."""
        with self.lock:
            last = self.seen.goaway_last_stream
            gone = self.seen.refused | self.seen.other_resets | self.seen.answered
            return {s for s in self.sent if s not in gone and (last is None or s <= last)}

    def sync(self, timeout: float = 60.0) -> bool:
        """Sends a PING and waits for its answer: the server has then read every frame sent
        before it (HTTP/2 handles a connection's frames in order). False when it never came."""
        payload = struct.pack('>d', time.monotonic())
        if not self.write(frame(PING, 0, 0, payload)):
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if payload in self.seen.ping_acks:
                    return True
                if self.seen.closed:
                    return False
            time.sleep(0.05)
        return False

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.reader.join(10)
