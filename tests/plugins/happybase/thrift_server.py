"""A stand-in for the HBase Thrift (1) server: Thrift's binary protocol over a buffered
socket, as HappyBase speaks it. No HBase can run on this machine. It keeps tables in
memory and answers createTable, getColumnDescriptors, mutateRows, mutateRow, deleteAllRow, getRow(WithColumns),
getRows(WithColumns), getTableNames and the scanner calls; anything else gets a Thrift
application exception. Each call's name is recorded."""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

from tests.plugins._stand_in import TcpStandIn

CALL, REPLY, EXCEPTION = 1, 2, 3
STOP, BOOL, BYTE, DOUBLE, I16, I32, I64, STRING, STRUCT, MAP, SET, LIST = 0, 2, 3, 4, 6, 8, 10, 11, 12, 13, 14, 15


class Reader:
    def __init__(self, sock: Any) -> None:
        self.sock = sock

    def take(self, size: int) -> bytes:
        data = b''
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError('closed')
            data += chunk
        return data

    def i32(self) -> int:
        return struct.unpack('>i', self.take(4))[0]

    def value(self, kind: int) -> Any:
        if kind == BOOL:
            return self.take(1) != b'\x00'
        if kind == BYTE:
            return struct.unpack('>b', self.take(1))[0]
        if kind == DOUBLE:
            return struct.unpack('>d', self.take(8))[0]
        if kind == I16:
            return struct.unpack('>h', self.take(2))[0]
        if kind == I32:
            return self.i32()
        if kind == I64:
            return struct.unpack('>q', self.take(8))[0]
        if kind == STRING:
            return self.take(self.i32())
        if kind == STRUCT:
            return self.struct()
        if kind == MAP:
            key_kind, value_kind = self.take(1)[0], self.take(1)[0]
            return {self.value(key_kind): self.value(value_kind) for _ in range(self.i32())}
        if kind in (SET, LIST):
            item_kind = self.take(1)[0]
            return [self.value(item_kind) for _ in range(self.i32())]
        raise ValueError(f'unknown Thrift type {kind}')

    def struct(self) -> dict[int, Any]:
        fields = {}
        while True:
            kind = self.take(1)[0]
            if kind == STOP:
                return fields
            field_id = struct.unpack('>h', self.take(2))[0]
            fields[field_id] = self.value(kind)


def string(data: bytes | str) -> bytes:
    data = data.encode() if isinstance(data, str) else data
    return struct.pack('>i', len(data)) + data


def field(kind: int, field_id: int, payload: bytes) -> bytes:
    return struct.pack('>bh', kind, field_id) + payload


def row_results(rows: list[tuple[bytes, dict[bytes, bytes]]]) -> bytes:
    """list<TRowResult{1: row, 2: map<column, TCell{1: value, 2: timestamp}>}>"""
    out = struct.pack('>bi', STRUCT, len(rows))
    for key, columns in rows:
        cells = b''.join(
            string(column) + field(STRING, 1, string(value)) + field(I64, 2, struct.pack('>q', 1)) + b'\x00'
            for column, value in sorted(columns.items())
        )
        cell_map = struct.pack('>bbi', STRING, STRUCT, len(columns)) + cells
        out += field(STRING, 1, string(key)) + field(MAP, 2, cell_map) + b'\x00'
    return out


class HBaseThriftStandIn(TcpStandIn):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.tables: dict[bytes, dict[bytes, dict[bytes, bytes]]] = {}
        self.families: dict[bytes, list[bytes]] = {}
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, sock: socket.socket) -> None:
        reader = Reader(sock)
        while True:
            sock.sendall(self.call(reader))

    def call(self, reader: Reader) -> bytes:
        header = reader.i32()
        if header < 0:  # strict: version 1 and the message type, then the name
            if header & 0xFFFF0000 != 0x80010000:
                raise ConnectionError('not Thrift binary protocol version 1')
            name = reader.take(reader.i32()).decode()
        else:  # non-strict: the name's length, the name, the message type
            name = reader.take(header).decode()
            reader.take(1)
        seqid = reader.i32()
        args = reader.struct()
        with self.lock:
            self.calls.append(name)
            result = self.run(name, args)
        if result is None:
            text = string(f'the stand-in does not know {name}')
            message = field(STRING, 1, text) + field(I32, 2, struct.pack('>i', 1))
            return self._message(name, EXCEPTION, seqid, message + b'\x00')
        return self._message(name, REPLY, seqid, result + b'\x00')

    @staticmethod
    def _message(name: str, kind: int, seqid: int, body: bytes) -> bytes:
        return struct.pack('>I', 0x80010000 | kind) + string(name) + struct.pack('>i', seqid) + body

    def _rows(self, table: bytes, keys: list[bytes]) -> list[tuple[bytes, dict]]:
        stored = self.tables.get(table, {})
        return [(key, stored[key]) for key in keys if key in stored]

    def run(self, name: str, args: dict[int, Any]) -> bytes | None:
        if name == 'createTable':
            self.tables.setdefault(args[1], {})
            self.families[args[1]] = [descriptor[1] for descriptor in args[2]]
            return b''
        if name == 'getColumnDescriptors':  # map<name, ColumnDescriptor{1: name}>
            families = self.families.get(args[1], [])
            entries = b''.join(string(family) + field(STRING, 1, string(family)) + b'\x00' for family in families)
            return field(MAP, 0, struct.pack('>bbi', STRING, STRUCT, len(families)) + entries)
        if name == 'getTableNames':
            return field(LIST, 0, struct.pack('>bi', STRING, len(self.tables)) + b''.join(map(string, self.tables)))
        if name in ('mutateRows', 'mutateRow'):
            batches = args[2] if name == 'mutateRows' else [{1: args[2], 2: args[3]}]
            table = self.tables.setdefault(args[1], {})
            for batch in batches:
                columns = table.setdefault(batch[1], {})
                for mutation in batch[2]:
                    if mutation.get(1):
                        columns.pop(mutation[2], None)
                    else:
                        columns[mutation[2]] = mutation[3]
                if not columns:
                    table.pop(batch[1], None)
            return b''
        if name == 'deleteAllRow':
            self.tables.get(args[1], {}).pop(args[2], None)
            return b''
        if name in ('getRow', 'getRowWithColumns'):
            return field(LIST, 0, row_results(self._rows(args[1], [args[2]])))
        if name in ('getRows', 'getRowsWithColumns'):
            return field(LIST, 0, row_results(self._rows(args[1], args[2])))
        if name == 'scannerOpenWithScan':
            self.scan = sorted(self.tables.get(args[1], {}).items())
            start = args[2].get(1)
            if start:
                self.scan = [(key, columns) for key, columns in self.scan if key >= start]
            return field(I32, 0, struct.pack('>i', 1))
        if name == 'scannerGetList':
            rows, self.scan = self.scan, []
            return field(LIST, 0, row_results(rows))
        if name == 'scannerClose':
            return b''
        return None
