"""A stand-in for MongoDB speaking its wire protocol (OP_MSG, and OP_QUERY/OP_REPLY for the
first handshake), with a BSON codec of its own: no MongoDB can run on this machine. It
answers as a standalone server does to hello/isMaster, ping, insert (also as a document
sequence), find (equality filters, ``_id`` projection), update ($set), delete, drop and endSessions, keeps the
documents in memory, and fails unknown commands with CommandNotFound."""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

from tests.plugins._stand_in import TcpStandIn

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013


class Raw:
    """A BSON value kept as its type byte and bytes (ObjectId, timestamp, datetime, ...)."""

    def __init__(self, kind: int, data: bytes) -> None:
        self.kind = kind
        self.data = data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Raw) and (self.kind, self.data) == (other.kind, other.data)

    def __hash__(self) -> int:
        return hash((self.kind, self.data))


_FIXED = {0x07: 12, 0x09: 8, 0x11: 8}


def decode(data: bytes, at: int = 0) -> tuple[dict, int]:
    """A document from `data` at `at`, and the offset after it."""
    size = struct.unpack_from('<i', data, at)[0]
    end = at + size - 1
    at += 4
    document: dict = {}
    while at < end:
        kind = data[at]
        name_end = data.index(b'\x00', at + 1)
        name = data[at + 1 : name_end].decode()
        at = name_end + 1
        if kind == 0x01:
            value, at = struct.unpack_from('<d', data, at)[0], at + 8
        elif kind == 0x02:
            length = struct.unpack_from('<i', data, at)[0]
            value, at = data[at + 4 : at + 4 + length - 1].decode(), at + 4 + length
        elif kind in (0x03, 0x04):
            value, at = decode(data, at)
            if kind == 0x04:
                value = list(value.values())
        elif kind == 0x05:
            length = struct.unpack_from('<i', data, at)[0]
            value, at = Raw(0x05, data[at : at + 5 + length]), at + 5 + length
        elif kind == 0x08:
            value, at = data[at] == 1, at + 1
        elif kind == 0x0A:
            value = None
        elif kind == 0x10:
            value, at = struct.unpack_from('<i', data, at)[0], at + 4
        elif kind == 0x12:
            value, at = struct.unpack_from('<q', data, at)[0], at + 8
        elif kind in _FIXED:
            value, at = Raw(kind, data[at : at + _FIXED[kind]]), at + _FIXED[kind]
        else:
            raise ValueError(f'BSON type {kind:#x} not known to the stand-in')
        document[name] = value
    return document, end + 1


def encode(document: dict) -> bytes:
    body = b''.join(_element(str(name), value) for name, value in document.items())
    return struct.pack('<i', len(body) + 5) + body + b'\x00'


def _element(name: str, value: Any) -> bytes:
    key = name.encode() + b'\x00'
    if isinstance(value, bool):
        return b'\x08' + key + (b'\x01' if value else b'\x00')
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b'\x10' + key + struct.pack('<i', value)
        return b'\x12' + key + struct.pack('<q', value)
    if isinstance(value, float):
        return b'\x01' + key + struct.pack('<d', value)
    if isinstance(value, str):
        data = value.encode()
        return b'\x02' + key + struct.pack('<i', len(data) + 1) + data + b'\x00'
    if isinstance(value, dict):
        return b'\x03' + key + encode(value)
    if isinstance(value, (list, tuple)):
        return b'\x04' + key + encode({str(i): item for i, item in enumerate(value)})
    if value is None:
        return b'\x0a' + key
    if isinstance(value, Raw):
        return bytes([value.kind]) + key + value.data
    raise TypeError(f'cannot encode {value!r}')


HELLO = {
    'isWritablePrimary': True,
    'ismaster': True,
    'maxBsonObjectSize': 16 * 1024 * 1024,
    'maxMessageSizeBytes': 48000000,
    'maxWriteBatchSize': 100000,
    'localTime': Raw(0x09, struct.pack('<q', 0)),
    'logicalSessionTimeoutMinutes': 30,
    'connectionId': 1,
    'minWireVersion': 0,
    'maxWireVersion': 13,
    'readOnly': False,
    'ok': 1.0,
}


class MongoStandIn(TcpStandIn):
    def __init__(self) -> None:
        self.commands: list[str] = []
        self.collections: dict[str, list[dict]] = {}
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, sock: socket.socket) -> None:
        while True:
            header = _read(sock, 16)
            length, request_id, _, opcode = struct.unpack('<iiii', header)
            body = _read(sock, length - 16)
            reply = self.reply(request_id, opcode, body)
            if reply is None:
                return
            sock.sendall(reply)

    def reply(self, request_id: int, opcode: int, body: bytes) -> bytes | None:
        if opcode == OP_QUERY:  # the handshake of older clients: flags, name, skip, limit, query
            name_end = body.index(b'\x00', 4)
            command, _ = decode(body, name_end + 9)
            answer = encode(self.run(command))
            payload = struct.pack('<iqii', 0, 0, 0, 1) + answer
            return struct.pack('<iiii', 16 + len(payload), 0, request_id, OP_REPLY) + payload
        if opcode != OP_MSG:
            return None
        at = 4  # flag bits
        command: dict = {}
        while at < len(body):
            kind = body[at]
            at += 1
            if kind == 0:
                command, at = decode(body, at)
            elif kind == 1:
                size = struct.unpack_from('<i', body, at)[0]
                end = at + size
                name_end = body.index(b'\x00', at + 4)
                name = body[at + 4 : name_end].decode()
                at = name_end + 1
                documents = []
                while at < end:
                    document, at = decode(body, at)
                    documents.append(document)
                command[name] = documents
            else:
                break  # a checksum
        payload = struct.pack('<i', 0) + b'\x00' + encode(self.run(command))
        return struct.pack('<iiii', 16 + len(payload), 0, request_id, OP_MSG) + payload

    def run(self, command: dict) -> dict:
        name = next(iter(command))
        with self.lock:
            self.commands.append(name)
            namespace = f'{command.get("$db", "admin")}.{command[name]}'
            if name.lower() in ('hello', 'ismaster'):
                return HELLO
            if name in ('ping', 'endSessions', 'killCursors'):
                return {'ok': 1.0}
            if name == 'insert':
                self.collections.setdefault(namespace, []).extend(command.get('documents', []))
                return {'n': len(command.get('documents', [])), 'ok': 1.0}
            if name == 'find':
                wanted = command.get('filter') or {}
                found = [
                    d for d in self.collections.get(namespace, []) if all(d.get(k) == v for k, v in wanted.items())
                ]
                if command.get('limit'):
                    found = found[: abs(command['limit'])]
                if (command.get('projection') or {}).get('_id', True) in (False, 0):
                    found = [{k: v for k, v in d.items() if k != '_id'} for d in found]
                return {'cursor': {'id': 0, 'ns': namespace, 'firstBatch': found}, 'ok': 1.0}
            if name == 'update':
                changed = 0
                for update in command.get('updates', []):
                    for document in self.collections.get(namespace, []):
                        if all(document.get(k) == v for k, v in update['q'].items()):
                            document.update(update['u'].get('$set', {}))
                            changed += 1
                return {'n': changed, 'nModified': changed, 'ok': 1.0}
            if name == 'delete':
                before = self.collections.get(namespace, [])
                kept = [d for d in before if not all(d.get(k) == v for k, v in command['deletes'][0]['q'].items())]
                self.collections[namespace] = kept
                return {'n': len(before) - len(kept), 'ok': 1.0}
            if name == 'drop':
                self.collections.pop(namespace, None)
                return {'ok': 1.0}
            return {'ok': 0.0, 'errmsg': f'no such command: {name!r}', 'code': 59, 'codeName': 'CommandNotFound'}


def _read(sock: Any, size: int) -> bytes:
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError('closed')
        data += chunk
    return data
