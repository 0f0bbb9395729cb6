"""A stand-in for Kafka in the tests: a small broker speaking Kafka's wire protocol.

No Kafka broker can run where these tests run, so this one answers just enough of the
protocol for a producer: ApiVersions, Metadata (it advertises itself as the only broker,
every topic is created on demand with `partitions` partitions), Produce (every record batch
is decoded and its CRC-32C verified), InitProducerId (idempotent producers), and
SaslHandshake/SaslAuthenticate with PLAIN, optionally over TLS. For consumers: ListOffsets,
Fetch (the produced batches, as stored, from the requested offset), and the group protocol a
``subscribe()`` consumer needs: FindCoordinator (this broker), JoinGroup (each join starts a
new generation in which the joining member is the only member and the leader: one consumer
per group), SyncGroup (the leader's assignment handed back), Heartbeat, LeaveGroup,
OffsetCommit and OffsetFetch (committed offsets kept per group). It
decodes with kafka-python's protocol and record classes, an implementation independent of
the agent's Rust encoder, so a record the agent encodes wrongly fails here.

Every produced record is kept (topic, partition, key, value, headers, client id, acks),
and its value is forwarded to the local collector as OAP's Kafka fetcher would consume
it: segments to `TraceSegmentReportService/collect`, management records to
`reportInstanceProperties` (key `register-...`) or `keepAlive`, meter collections to
`MeterReportService/collectBatch`, log records to `LogReportService/collect`. The
collector's `/dataValidate` then works unchanged.
"""

from __future__ import annotations

import io
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from kafka.protocol.api_versions import ApiVersionsResponse_v0
from kafka.protocol.commit import OffsetCommitRequest, OffsetFetchRequest, OffsetFetchResponse
from kafka.protocol.fetch import FetchRequest, FetchResponse
from kafka.protocol.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from kafka.protocol.group import HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest
from kafka.protocol.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from kafka.protocol.list_offsets import ListOffsetsRequest, ListOffsetsResponse
from kafka.protocol.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.produce import ProduceRequest
from kafka.protocol.sasl_authenticate import SaslAuthenticateRequest, SaslAuthenticateResponse
from kafka.protocol.sasl_handshake import SaslHandshakeRequest, SaslHandshakeResponse
from kafka.protocol.types import Array, Boolean, Bytes, Int16, Int32, Schema, String
from kafka.record.memory_records import MemoryRecords

from tests.loopback_server import LoopbackServer

PRODUCE, FETCH, LIST_OFFSETS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR = 0, 1, 2, 3, 8, 9, 10
JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 11, 12, 13, 14
SASL_HANDSHAKE, API_VERSIONS, INIT_PRODUCER_ID, SASL_AUTHENTICATE = 17, 18, 22, 36
# Non-flexible versions only (what the kafka-python decoding here knows): enough for the agent,
# kafka-python 2.0-3.x and aiokafka, which pick the newest version both sides support.
SUPPORTED = {
    PRODUCE: (3, 7),
    FETCH: (4, 6),
    LIST_OFFSETS: (1, 2),
    METADATA: (0, 7),  # v0: how aiokafka before 0.13 bootstraps
    OFFSET_COMMIT: (0, 6),
    OFFSET_FETCH: (1, 5),
    FIND_COORDINATOR: (0, 1),
    JOIN_GROUP: (0, 4),
    HEARTBEAT: (0, 2),
    LEAVE_GROUP: (0, 2),
    SYNC_GROUP: (0, 2),
    API_VERSIONS: (0, 0),
    SASL_HANDSHAKE: (1, 1),
    SASL_AUTHENTICATE: (0, 0),
    INIT_PRODUCER_ID: (0, 1),  # idempotent producers (kafka-python 3's default)
}
NODE_ID = 1
UNSUPPORTED_VERSION, SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE, REBALANCE_IN_PROGRESS = 35, 58, 34, 27


@dataclass(frozen=True)
class ProducedRecord:
    topic: str
    partition: int
    key: bytes | None
    value: bytes
    headers: tuple
    client_id: str
    acks: int


def build(schema: Schema, values: dict) -> tuple:
    """A tuple for `schema` from `values` by field name; missing fields get a neutral default."""
    fields = []
    for name, field in zip(schema.names, schema.fields, strict=True):
        value = values.get(name)
        if isinstance(field, Array):
            items = value or []
            fields.append(
                [build(field.array_of, item) if isinstance(field.array_of, Schema) else item for item in items]
            )
        elif value is None and not isinstance(field, (String, Bytes)):
            fields.append(False if isinstance(field, Boolean) else 0)
        else:
            fields.append(value)
    return tuple(fields)


def response(response_type, values: dict) -> bytes:
    return response_type.SCHEMA.encode(build(response_type.SCHEMA, values))


class Forwarder:
    """Hands record values to the local collector's gRPC services, as raw protobuf bytes."""

    def __init__(self, target: str) -> None:
        self.channel = grpc.insecure_channel(target)
        self.segments = self.channel.stream_unary('/skywalking.v3.TraceSegmentReportService/collect')
        self.properties = self.channel.unary_unary('/skywalking.v3.ManagementService/reportInstanceProperties')
        self.ping = self.channel.unary_unary('/skywalking.v3.ManagementService/keepAlive')
        self.meters = self.channel.stream_unary('/skywalking.v3.MeterReportService/collectBatch')
        self.logs = self.channel.stream_unary('/skywalking.v3.LogReportService/collect')

    def forward(self, record: ProducedRecord) -> None:
        # Kinds by topic suffix, so namespaced topics (`<ns>-skywalking-segments`) work too.
        if record.topic.endswith('segments'):
            self.segments(iter([record.value]), timeout=10)
        elif record.topic.endswith('managements'):
            register = (record.key or b'').startswith(b'register-')
            (self.properties if register else self.ping)(record.value, timeout=10)
        elif record.topic.endswith('meters'):
            self.meters(iter([record.value]), timeout=10)
        elif record.topic.endswith('logs'):
            self.logs(iter([record.value]), timeout=10)

    def close(self) -> None:
        self.channel.close()


class KafkaTestBroker:
    """The broker; `start()` listens on 127.0.0.1 (`port`, or a free one)."""

    def __init__(
        self,
        collector_grpc: str | None = None,
        partitions: int = 3,
        port: int = 0,
        sasl_plain: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.partitions = partitions
        self.sasl_plain = sasl_plain
        self.tls = tls
        self.forwarder = Forwarder(collector_grpc) if collector_grpc else None
        self.records: list[ProducedRecord] = []
        self.requests: list[tuple[int, int, str]] = []
        self.errors: list[str] = []
        #: Connections closed before any TLS handshake: the agent's reachability probes.
        self.probes = 0
        self._lock = threading.Lock()
        self._offsets: dict[tuple[str, int], int] = {}
        #: group -> (generation, member id, assignment of the member).
        self._groups: dict[str, tuple[int, str, bytes]] = {}
        #: (group, topic, partition) -> committed offset.
        self._committed: dict[tuple[str, str, int], int] = {}
        self._members = 0
        #: (topic, partition) -> [(base offset, next offset, record batch as stored)].
        self._logs: dict[tuple[str, int], list[tuple[int, int, bytes]]] = {}
        self._requested_port = port
        self._server: socketserver.ThreadingTCPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def address(self) -> str:
        return f'127.0.0.1:{self.port}'

    def start(self) -> KafkaTestBroker:
        broker = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    sock = broker.tls.wrap_socket(self.request, server_side=True) if broker.tls else self.request
                except ssl.SSLEOFError:
                    # Closed before a handshake began: the agent's reachability probe (a bare
                    # TCP connect, as load balancers' health checks), not a TLS failure.
                    broker.probes += 1
                    return
                except (OSError, ssl.SSLError) as error:
                    broker.errors.append(f'TLS handshake failed: {error}')
                    return
                broker._serve(sock)

        self._server = LoopbackServer(('127.0.0.1', self._requested_port), Handler)
        threading.Thread(target=self._server.serve_forever, name='kafka-test-broker', daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.forwarder is not None:
            self.forwarder.close()

    def produced(self, topic: str | None = None) -> list[ProducedRecord]:
        with self._lock:
            return [r for r in self.records if topic is None or r.topic == topic]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.1)
        return condition()

    # --- the protocol -------------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        authenticated = self.sasl_plain is None
        try:
            while True:
                size = _read_exact(sock, 4)
                if size is None:
                    return
                frame = _read_exact(sock, struct.unpack('>i', size)[0])
                if frame is None:
                    return
                data = io.BytesIO(frame)
                api_key, version, correlation_id = Int16.decode(data), Int16.decode(data), Int32.decode(data)
                client_id = String('utf-8').decode(data) or ''
                with self._lock:
                    self.requests.append((api_key, version, client_id))
                if not authenticated and api_key not in (API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE):
                    self.errors.append(f'api {api_key} before SASL authentication')
                    return
                answer = self._answer(api_key, version, data, client_id)
                if api_key == SASL_AUTHENTICATE and answer is not None:
                    authenticated = answer[1]
                    answer = answer[0]
                if answer is not None:
                    body = struct.pack('>i', correlation_id) + answer
                    sock.sendall(struct.pack('>i', len(body)) + body)
        except (OSError, ValueError) as error:
            self.errors.append(f'{type(error).__name__}: {error}')

    def _answer(self, api_key: int, version: int, data: io.BytesIO, client_id: str):
        low, high = SUPPORTED.get(api_key, (0, -1))
        if api_key == API_VERSIONS:
            # Kafka answers any ApiVersions version it lacks in v0 with UNSUPPORTED_VERSION,
            # listing its ranges; the client then asks again at a version it finds there.
            error = 0 if low <= version <= high else UNSUPPORTED_VERSION
            versions = [{'api_key': k, 'min_version': lo, 'max_version': hi} for k, (lo, hi) in SUPPORTED.items()]
            return response(ApiVersionsResponse_v0, {'error_code': error, 'api_versions': versions})
        if not low <= version <= high:
            self.errors.append(f'api {api_key} v{version} is not supported')
            raise ValueError('unsupported version')
        if api_key == METADATA:
            return self._metadata(version, MetadataRequest[version].decode(data))
        if api_key == PRODUCE:
            return self._produce(version, ProduceRequest[version].decode(data), client_id)
        if api_key == FETCH:
            return self._fetch(version, FetchRequest[version].decode(data))
        if api_key == LIST_OFFSETS:
            return self._list_offsets(version, ListOffsetsRequest[version].decode(data))
        if api_key == FIND_COORDINATOR:
            FindCoordinatorRequest[version].decode(data)
            values = {'error_code': 0, 'coordinator_id': NODE_ID, 'host': '127.0.0.1', 'port': self.port}
            return response(FindCoordinatorResponse[version], values)
        if api_key == INIT_PRODUCER_ID:
            InitProducerIdRequest[version].decode(data)
            return response(InitProducerIdResponse[version], {'error_code': 0, 'producer_id': 1, 'producer_epoch': 0})
        if api_key == OFFSET_FETCH:
            return self._offset_fetch(version, OffsetFetchRequest[version].decode(data))
        if api_key == OFFSET_COMMIT:
            return self._offset_commit(version, OffsetCommitRequest[version].decode(data))
        if api_key in (JOIN_GROUP, SYNC_GROUP, HEARTBEAT, LEAVE_GROUP):
            return self._group(api_key, version, data, client_id)
        if api_key == SASL_HANDSHAKE:
            mechanism = SaslHandshakeRequest[version].decode(data).mechanism
            error = 0 if mechanism == 'PLAIN' else 33
            return response(SaslHandshakeResponse[version], {'error_code': error, 'enabled_mechanisms': ['PLAIN']})
        if api_key == SASL_AUTHENTICATE:
            token = SaslAuthenticateRequest[version].decode(data).auth_bytes
            _, user, password = token.decode().split('\0')
            ok = (user, password) == self.sasl_plain
            values = {'error_code': 0 if ok else SASL_AUTHENTICATION_FAILED, 'auth_bytes': b''}
            if not ok:
                values['error_message'] = 'bad credentials'
            return response(SaslAuthenticateResponse[version], values), ok
        raise ValueError(f'api {api_key}')

    def _group(self, api_key: int, version: int, data: io.BytesIO, client_id: str) -> bytes:
        """Group membership, one member per group: a join makes the joining member the leader of
        a new generation with itself alone; its SyncGroup assignment is handed back to it."""
        if api_key == JOIN_GROUP:
            request = JoinGroupRequest[version].decode(data)
            protocol, metadata = request.group_protocols[0]
            with self._lock:
                generation = self._groups.get(request.group, (0, '', b''))[0] + 1
                member = request.member_id
                if not member:
                    self._members += 1
                    member = f'{client_id or "member"}-{self._members}'
                self._groups[request.group] = (generation, member, b'')
            values = {
                'error_code': 0, 'generation_id': generation, 'group_protocol': protocol, 'leader_id': member,
                'member_id': member, 'members': [{'member_id': member, 'member_metadata': metadata}],
            }  # fmt: skip
            return response(JoinGroupRequest[version].RESPONSE_TYPE, values)
        if api_key == SYNC_GROUP:
            request = SyncGroupRequest[version].decode(data)
            assignment = dict(request.group_assignment or []).get(request.member_id, b'')
            with self._lock:
                generation, member, stored = self._groups.get(request.group, (0, '', b''))
                current = generation == request.generation_id and member == request.member_id
                if current and assignment:
                    self._groups[request.group] = (generation, member, assignment)
                    stored = assignment
            # Kafka holds a member's SyncGroup until the leader's assignment arrives; with none
            # here (yet), the member is told to join again rather than handed empty bytes.
            ok = current and bool(stored)
            values = {'error_code': 0 if ok else REBALANCE_IN_PROGRESS, 'member_assignment': stored if ok else b''}
            return response(SyncGroupRequest[version].RESPONSE_TYPE, values)
        if api_key == HEARTBEAT:
            request = HeartbeatRequest[version].decode(data)
            with self._lock:
                generation, member, _ = self._groups.get(request.group, (0, '', b''))
            current = (generation, member) == (request.generation_id, request.member_id)
            values = {'error_code': 0 if current else REBALANCE_IN_PROGRESS}
            return response(HeartbeatRequest[version].RESPONSE_TYPE, values)
        request = LeaveGroupRequest[version].decode(data)
        with self._lock:
            if self._groups.get(request.group, (0, '', b''))[1] == request.member_id:
                generation = self._groups[request.group][0]
                self._groups[request.group] = (generation, '', b'')
        return response(LeaveGroupRequest[version].RESPONSE_TYPE, {'error_code': 0})

    def _offset_commit(self, version: int, request) -> bytes:
        topics = []
        with self._lock:
            for topic, partitions in request.topics:
                for partition, offset, *_ in partitions:
                    self._committed[(request.consumer_group, topic, partition)] = offset
                results = [{'partition': partition, 'error_code': 0} for partition, *_ in partitions]
                topics.append({'topic': topic, 'partitions': results})
        return response(OffsetCommitRequest[version].RESPONSE_TYPE, {'topics': topics})

    def _offset_fetch(self, version: int, request) -> bytes:
        group = request.consumer_group
        with self._lock:
            wanted = request.topics
            if wanted is None:  # v2+: every topic the group committed to
                by_topic: dict[str, list[int]] = {}
                for g, topic, partition in self._committed:
                    if g == group:
                        by_topic.setdefault(topic, []).append(partition)
                wanted = list(by_topic.items())
            topics = []
            for topic, partitions in wanted:
                offsets = [
                    {'partition': p, 'offset': self._committed.get((group, topic, p), -1), 'leader_epoch': -1}
                    for p in partitions
                ]
                topics.append({'topic': topic, 'partitions': [{**o, 'metadata': ''} for o in offsets]})
        return response(OffsetFetchResponse[version], {'topics': topics})

    def _metadata(self, version: int, request) -> bytes:
        topics = request.topics or []
        names = [t if isinstance(t, str) else t[0] for t in topics]
        partitions = [
            {'error_code': 0, 'partition': p, 'leader': NODE_ID, 'replicas': [NODE_ID], 'isr': [NODE_ID]}
            for p in range(self.partitions)
        ]
        values = {
            'brokers': [{'node_id': NODE_ID, 'host': '127.0.0.1', 'port': self.port}],
            'cluster_id': 'skywalking-rs-test',
            'controller_id': NODE_ID,
            'topics': [
                {'error_code': 0, 'topic': name, 'is_internal': False, 'partitions': partitions} for name in names
            ],
        }
        return response(MetadataResponse[version], values)

    def _produce(self, version: int, request, client_id: str) -> bytes | None:
        answers = []
        for topic, partitions in request.topics:
            results = []
            for partition, records in partitions:
                received = self._decode(topic, partition, records, client_id, request.required_acks)
                with self._lock:
                    base = self._offsets.get((topic, partition), 0)
                    self._offsets[(topic, partition)] = self._append(topic, partition, base, records)
                    self.records.extend(received)
                for record in received:
                    if self.forwarder is not None:
                        self.forwarder.forward(record)
                results.append({'partition': partition, 'error_code': 0, 'offset': base, 'timestamp': -1})
            answers.append({'topic': topic, 'partitions': results})
        if request.required_acks == 0:
            return None  # a broker does not answer acks=0
        return response(ProduceRequest[version].RESPONSE_TYPE, {'topics': answers})

    def _append(self, topic: str, partition: int, base: int, data: bytes) -> int:
        """Stores the record batches of `data` from offset `base` on; returns the next offset."""
        log = self._logs.setdefault((topic, partition), [])
        position = 0
        while position + 61 <= len(data):
            length = struct.unpack_from('>i', data, position + 8)[0]
            batch = bytearray(data[position : position + 12 + length])
            last_delta = struct.unpack_from('>i', batch, 23)[0]
            struct.pack_into('>q', batch, 0, base)  # the base offset is outside the CRC
            log.append((base, base + last_delta + 1, bytes(batch)))
            base += last_delta + 1
            position += 12 + length
        return base

    def _fetch(self, version: int, request) -> bytes:
        wait = min(request.max_wait_time, 500) / 1000
        deadline = time.monotonic() + wait
        while True:
            topics, found = [], False
            with self._lock:
                for topic, partitions in request.topics:
                    results = []
                    for partition, offset, *_ in partitions:
                        log = self._logs.get((topic, partition), [])
                        end = self._offsets.get((topic, partition), 0)
                        records = b''.join(batch for _, following, batch in log if following > offset)
                        found = found or bool(records)
                        results.append(
                            {
                                'partition': partition,
                                'error_code': 0,
                                'highwater_offset': end,
                                'last_stable_offset': end,
                                'log_start_offset': 0,
                                'records': records,
                            }
                        )
                    topics.append({'topics': topic, 'partitions': results})
            if found or time.monotonic() >= deadline:
                return response(FetchResponse[version], {'topics': topics})
            time.sleep(0.05)

    def _list_offsets(self, version: int, request) -> bytes:
        topics = []
        with self._lock:
            for topic, partitions in request.topics:
                results = []
                for partition, timestamp, *_ in partitions:
                    end = self._offsets.get((topic, partition), 0)
                    offset = 0 if timestamp == -2 else end  # -2: earliest, -1: latest
                    results.append({'partition': partition, 'error_code': 0, 'timestamp': -1, 'offset': offset})
                topics.append({'topic': topic, 'partitions': results})
        return response(ListOffsetsResponse[version], {'topics': topics})

    def _decode(self, topic: str, partition: int, data: bytes, client_id: str, acks: int) -> list[ProducedRecord]:
        batches = MemoryRecords(data)
        received = []
        while (batch := batches.next_batch()) is not None:
            if batch.magic != 2 or not batch.validate_crc():
                self.errors.append(f'bad record batch for {topic}/{partition} (magic {batch.magic})')
                raise ValueError('bad record batch')
            for record in batch:
                received.append(
                    ProducedRecord(topic, partition, record.key, record.value, tuple(record.headers), client_id, acks)
                )
        return received


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks = b''
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return chunks
