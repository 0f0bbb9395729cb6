"""A stand-in for Neo4j speaking Bolt 4.4 (handshake, chunked PackStream messages): no Neo4j
can run on this machine. It accepts HELLO, RUN, PULL, DISCARD, BEGIN, COMMIT, ROLLBACK,
RESET and GOODBYE, answers every query with one column ``value`` and one record (the query's
``$value`` parameter, else 1), and fails queries containing ``SYNTAX ERROR`` as Neo4j fails a
bad query (FAILURE, then IGNORED until RESET). Each query it runs is recorded."""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

from tests.plugins._stand_in import TcpStandIn

HELLO, GOODBYE, RESET, RUN, BEGIN = 0x01, 0x02, 0x0F, 0x10, 0x11
COMMIT, ROLLBACK, DISCARD, PULL = 0x12, 0x13, 0x2F, 0x3F
SUCCESS, RECORD, IGNORED, FAILURE = 0x70, 0x71, 0x7E, 0x7F


class Structure:
    def __init__(self, tag: int, fields: list) -> None:
        self.tag = tag
        self.fields = fields


def pack(value: Any) -> bytes:
    if value is None:
        return b'\xc0'
    if value is True:
        return b'\xc3'
    if value is False:
        return b'\xc2'
    if isinstance(value, int):
        if -16 <= value < 128:
            return struct.pack('>b', value)
        return b'\xcb' + struct.pack('>q', value)
    if isinstance(value, float):
        return b'\xc1' + struct.pack('>d', value)
    if isinstance(value, str):
        data = value.encode()
        return _header(len(data), 0x80, 0xD0) + data
    if isinstance(value, (list, tuple)):
        return _header(len(value), 0x90, 0xD4) + b''.join(pack(item) for item in value)
    if isinstance(value, dict):
        items = b''.join(pack(str(key)) + pack(item) for key, item in value.items())
        return _header(len(value), 0xA0, 0xD8) + items
    if isinstance(value, Structure):
        return bytes([0xB0 | len(value.fields), value.tag]) + b''.join(pack(field) for field in value.fields)
    raise TypeError(f'cannot pack {value!r}')


def _header(size: int, tiny: int, sized: int) -> bytes:
    if size < 16:
        return bytes([tiny | size])
    if size < 0x100:
        return bytes([sized, size])
    if size < 0x10000:
        return bytes([sized + 1]) + struct.pack('>H', size)
    return bytes([sized + 2]) + struct.pack('>I', size)


class Unpacker:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def size(self, marker: int, base: int) -> int:
        width = {0: 1, 1: 2, 2: 4}[marker - base]
        return int.from_bytes(self.take(width), 'big')

    def unpack(self) -> Any:
        marker = self.take(1)[0]
        if marker < 0x80:
            return marker
        if marker >= 0xF0:
            return marker - 0x100
        high = marker & 0xF0
        if high == 0x80:
            return self.take(marker & 0x0F).decode()
        if high == 0x90:
            return [self.unpack() for _ in range(marker & 0x0F)]
        if high == 0xA0:
            return {self.unpack(): self.unpack() for _ in range(marker & 0x0F)}
        if high == 0xB0:
            tag = self.take(1)[0]
            return Structure(tag, [self.unpack() for _ in range(marker & 0x0F)])
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if marker in simple:
            return simple[marker]
        if marker == 0xC1:
            return struct.unpack('>d', self.take(8))[0]
        if 0xC8 <= marker <= 0xCB:
            width = {0xC8: 1, 0xC9: 2, 0xCA: 4, 0xCB: 8}[marker]
            return int.from_bytes(self.take(width), 'big', signed=True)
        if 0xCC <= marker <= 0xCE:
            return self.take(self.size(marker, 0xCC))
        if 0xD0 <= marker <= 0xD2:
            return self.take(self.size(marker, 0xD0)).decode()
        if 0xD4 <= marker <= 0xD6:
            return [self.unpack() for _ in range(self.size(marker, 0xD4))]
        if 0xD8 <= marker <= 0xDA:
            return {self.unpack(): self.unpack() for _ in range(self.size(marker, 0xD8))}
        raise ValueError(f'unknown PackStream marker {marker:#x}')


class BoltStandIn(TcpStandIn):
    def __init__(self) -> None:
        self.queries: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, sock: socket.socket) -> None:
        handshake = _read(sock, 20)
        if handshake[:4] != b'\x60\x60\xb0\x17':
            return
        proposals = [handshake[4 + 4 * i : 8 + 4 * i] for i in range(4)]
        if not any(p[3] == 4 and p[2] - p[1] <= 4 <= p[2] for p in proposals):
            sock.sendall(b'\x00\x00\x00\x00')
            return
        sock.sendall(b'\x00\x00\x04\x04')  # Bolt 4.4
        failed = False
        pending: list[Any] = []  # the record of the last RUN, until PULL or DISCARD
        in_transaction = False
        while True:
            message = _read_message(sock)
            if message is None or message.tag == GOODBYE:
                return
            if failed and message.tag != RESET:
                _send(sock, IGNORED)
                continue
            if message.tag == HELLO:
                _send(sock, SUCCESS, {'server': 'Neo4j/4.4.0', 'connection_id': 'bolt-db'})
            elif message.tag == RESET:
                failed, pending, in_transaction = False, [], False
                _send(sock, SUCCESS, {})
            elif message.tag == RUN:
                query, parameters = message.fields[0], message.fields[1] or {}
                with self.lock:
                    self.queries.append((query, parameters))
                if 'SYNTAX ERROR' in query:
                    failed = True
                    _send(sock, FAILURE, {'code': 'Neo.ClientError.Statement.SyntaxError', 'message': 'Invalid input'})
                    continue
                pending = [parameters.get('value', 1)]
                _send(sock, SUCCESS, {'fields': ['value'], 't_first': 0, **({'qid': 0} if in_transaction else {})})
            elif message.tag in (PULL, DISCARD):
                if message.tag == PULL and pending:
                    _send(sock, RECORD, pending)
                pending = []
                done: dict = {'type': 'r', 't_last': 0, 'db': 'neo4j'}
                if not in_transaction:
                    done['bookmark'] = 'neo4j:bookmark:1'
                _send(sock, SUCCESS, done)
            elif message.tag == BEGIN:
                in_transaction = True
                _send(sock, SUCCESS, {})
            elif message.tag == COMMIT:
                in_transaction = False
                _send(sock, SUCCESS, {'bookmark': 'neo4j:bookmark:2'})
            elif message.tag == ROLLBACK:
                in_transaction = False
                _send(sock, SUCCESS, {})
            else:
                failed = True
                _send(sock, FAILURE, {'code': 'Neo.ClientError.Request.Invalid', 'message': f'{message.tag:#x}'})


def _read(sock: socket.socket, size: int) -> bytes:
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError('closed')
        data += chunk
    return data


def _read_message(sock: socket.socket) -> Structure | None:
    data = b''
    try:
        while True:
            size = int.from_bytes(_read(sock, 2), 'big')
            if size == 0:
                if data:
                    break
                continue  # a NOOP chunk
            data += _read(sock, size)
    except (ConnectionError, OSError):
        return None
    message = Unpacker(data).unpack()
    return message if isinstance(message, Structure) else None


def _send(sock: socket.socket, tag: int, *fields: Any) -> None:
    data = pack(Structure(tag, list(fields)))
    out = b''
    for start in range(0, len(data), 0xFFFF):
        chunk = data[start : start + 0xFFFF]
        out += struct.pack('>H', len(chunk)) + chunk
    sock.sendall(out + b'\x00\x00')
