"""`agent_protocol=kafka`: topics, keys, values and producer settings as the Python agent's.

No Kafka broker can run here, so the agent produces to the tests' stand-in, a
protocol-level broker (tests/kafka_broker.py) that decodes every Produce request with
kafka-python's classes, verifies each record batch's CRC-32C, keeps the records, and
forwards their values to the local collector.
"""

from __future__ import annotations

import re
import ssl
import subprocess
from pathlib import Path

import pytest
from kafka.partitioner.default import murmur2

from tests.conftest import free_port, http_get
from tests.kafka_broker import KafkaTestBroker, ProducedRecord

HERE = Path(__file__).parent
PROVIDER = HERE.parent / 'plugins' / 'http_server' / 'services' / 'provider.py'
SEGMENTS, MANAGEMENT, METERS = 'skywalking-segments', 'skywalking-managements', 'skywalking-meters'


def protobuf_fields(data: bytes) -> dict[int, list]:
    """Top-level fields of a protobuf message: varints as ints, length-delimited as bytes."""
    fields: dict[int, list] = {}
    i = 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value = varint()
        elif wire_type == 2:
            length = varint()
            value, i = data[i : i + length], i + length
        elif wire_type == 1:
            value, i = data[i : i + 8], i + 8
        else:
            value, i = data[i : i + 4], i + 4
        fields.setdefault(number, []).append(value)
    return fields


def kafka_env(broker: KafkaTestBroker, **extra: str) -> dict[str, str]:
    return {'SW_AGENT_PROTOCOL': 'kafka', 'SW_KAFKA_BOOTSTRAP_SERVERS': broker.address, **extra}


def call_provider(port: int, times: int = 1) -> None:
    for _ in range(times):
        status, _ = http_get(f'http://127.0.0.1:{port}/users')
        assert status == 200


def assert_upstream_shape(broker: KafkaTestBroker, instance: str, prefix: str = '') -> list[ProducedRecord]:
    """Segments keyed by their segment id on the partition kafka-python would choose;
    `register-<instance>` before `<instance>` on the management topic."""
    segments = broker.produced(prefix + SEGMENTS)
    assert segments
    for record in segments:
        segment = protobuf_fields(record.value)
        assert record.key == segment[2][0]  # SegmentObject.traceSegmentId
        assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % broker.partitions
        assert segment[5][0].decode() == instance  # serviceInstance
    keys = [r.key for r in broker.produced(prefix + MANAGEMENT)]
    assert keys[0] == f'register-{instance}'.encode()
    assert f'{instance}'.encode() in keys[1:]
    properties = protobuf_fields(broker.produced(prefix + MANAGEMENT)[0].value)
    assert properties[2][0].decode() == instance and properties[3]  # serviceInstance, properties
    return segments


def test_topics_keys_and_values_as_upstream(services, collector, kafka_broker):
    port = free_port()
    services.start('provider', PROVIDER, port, **kafka_env(kafka_broker, SW_AGENT_METER_REPORTER_PERIOD='1'))

    call_provider(port, times=3)

    assert kafka_broker.wait_for(lambda: len(kafka_broker.produced(SEGMENTS)) >= 3), services.logs()
    assert kafka_broker.wait_for(lambda: len(kafka_broker.produced(MANAGEMENT)) >= 2), services.logs()
    assert kafka_broker.wait_for(lambda: kafka_broker.produced(METERS)), services.logs()
    assert_upstream_shape(kafka_broker, 'provider-instance')
    # One MeterDataCollection per period, keyed by the instance, carrying the agent's own counters.
    meters = kafka_broker.produced(METERS)[0]
    assert meters.key == b'provider-instance'
    # MeterDataCollection.meterData[].singleValue.name
    names = [protobuf_fields(protobuf_fields(m)[1][0])[1][0] for m in protobuf_fields(meters.value)[1]]
    assert b'skywalking_agent_segments_sent' in names
    assert {r.client_id for r in kafka_broker.produced()} == {'skywalking-rs'}
    assert {r.acks for r in kafka_broker.produced()} == {1}
    assert not kafka_broker.errors
    # The collector got the forwarded values as protobuf, so they have the right types.
    assert 'serviceName: provider' in collector.receive_data()


def test_kafka_namespace_prefixes_every_topic(services, kafka_broker):
    port = free_port()
    services.start('provider', PROVIDER, port, **kafka_env(kafka_broker, SW_KAFKA_NAMESPACE='prod'))

    call_provider(port)

    assert kafka_broker.wait_for(lambda: kafka_broker.produced('prod-' + SEGMENTS)), services.logs()
    assert kafka_broker.wait_for(lambda: len(kafka_broker.produced('prod-' + MANAGEMENT)) >= 2), services.logs()
    assert {r.topic for r in kafka_broker.produced()} <= {'prod-' + SEGMENTS, 'prod-' + MANAGEMENT, 'prod-' + METERS}
    assert_upstream_shape(kafka_broker, 'provider-instance', prefix='prod-')


def test_reporter_config_pass_through(services, kafka_broker):
    port = free_port()
    env = kafka_env(
        kafka_broker,
        SW_KAFKA_REPORTER_CONFIG_client_id='my-producer',
        SW_KAFKA_REPORTER_CONFIG_acks='all',
        SW_KAFKA_REPORTER_CONFIG_linger_ms='50',
        SW_KAFKA_REPORTER_CONFIG_bogus_option='1',
        SW_KAFKA_REPORTER_CONFIG_compression_type='gzip',
    )
    services.start('provider', PROVIDER, port, **env)

    call_provider(port, times=2)

    assert kafka_broker.wait_for(lambda: len(kafka_broker.produced(SEGMENTS)) >= 2), services.logs()
    assert {r.client_id for r in kafka_broker.produced()} == {'my-producer'}
    assert {r.acks for r in kafka_broker.produced()} == {-1}
    logs = services.logs()
    assert len(re.findall(r'\[WARNING\] SW_KAFKA_REPORTER_CONFIG_bogus_option=.* is ignored', logs)) == 1, logs
    assert len(re.findall(r'\[WARNING\] SW_KAFKA_REPORTER_CONFIG_compression_type=.* is ignored', logs)) == 1, logs


def test_sasl_plain_authenticates(services, collector):
    broker = KafkaTestBroker(collector.grpc_address, sasl_plain=('agent', 's3cret')).start()
    try:
        port = free_port()
        env = kafka_env(
            broker,
            SW_KAFKA_REPORTER_CONFIG_security_protocol='SASL_PLAINTEXT',
            SW_KAFKA_REPORTER_CONFIG_sasl_mechanism='PLAIN',
            SW_KAFKA_REPORTER_CONFIG_sasl_plain_username='agent',
            SW_KAFKA_REPORTER_CONFIG_sasl_plain_password='s3cret',
        )
        services.start('provider', PROVIDER, port, **env)

        call_provider(port)

        assert broker.wait_for(lambda: broker.produced(SEGMENTS)), services.logs()
        assert not broker.errors, broker.errors
        assert 's3cret' not in services.logs()
    finally:
        broker.stop()


def make_certificates(directory: Path) -> ssl.SSLContext:
    """A CA and a server certificate for 127.0.0.1 (made with the openssl command); returns
    the broker's TLS context. The agent is told to trust `ca.pem` with `ssl_cafile`."""
    script = """set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=sw-test-ca -days 2 \\
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
printf '%s\\n' subjectAltName=DNS:localhost,IP:127.0.0.1 basicConstraints=CA:FALSE extendedKeyUsage=serverAuth >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \\
  -extfile ext.cnf 2>/dev/null
"""
    subprocess.run(['bash', '-c', script], cwd=directory, check=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / 'server.pem', directory / 'server.key')
    return context


def test_sasl_ssl_with_a_private_ca(services, collector, tmp_path):
    broker = KafkaTestBroker(
        collector.grpc_address, sasl_plain=('agent', 's3cret'), tls=make_certificates(tmp_path)
    ).start()
    try:
        port = free_port()
        env = kafka_env(
            broker,
            SW_KAFKA_REPORTER_CONFIG_security_protocol='SASL_SSL',
            SW_KAFKA_REPORTER_CONFIG_ssl_cafile=str(tmp_path / 'ca.pem'),
            SW_KAFKA_REPORTER_CONFIG_sasl_mechanism='PLAIN',
            SW_KAFKA_REPORTER_CONFIG_sasl_plain_username='agent',
            SW_KAFKA_REPORTER_CONFIG_sasl_plain_password='s3cret',
        )
        services.start('provider', PROVIDER, port, **env)

        call_provider(port)

        assert broker.wait_for(lambda: broker.produced(SEGMENTS)), f'{broker.errors}\n{services.logs()}'
        assert not broker.errors, broker.errors
        # The sender checked the broker was reachable (a bare TCP connect) before sending.
        assert broker.probes >= 1
    finally:
        broker.stop()


def test_broker_down_at_start_then_up(services, collector):
    """Segments made while no broker listens stay queued (the sender probes the brokers
    before it takes anything from the queue), the outage is logged once (not per attempt),
    and the queued segments arrive when the broker comes up: none is lost."""
    broker_port, port = free_port(), free_port()
    broker = KafkaTestBroker(collector.grpc_address, port=broker_port)
    services.start(
        'provider',
        PROVIDER,
        port,
        SW_AGENT_PROTOCOL='kafka',
        SW_KAFKA_BOOTSTRAP_SERVERS=f'127.0.0.1:{broker_port}',
        SW_AGENT_LOGGING_LEVEL='INFO',
    )
    call_provider(port, times=5)
    services.wait_for_log('provider', 'cannot report segments over Kafka')
    broker.start()
    try:
        assert broker.wait_for(lambda: len(broker.produced(SEGMENTS)) >= 5, timeout=30), services.logs()
        assert broker.wait_for(lambda: 'again after' in services.logs(), timeout=10), services.logs()
        logs = services.logs()
        assert len(re.findall(r'cannot report segments over Kafka', logs)) == 1, logs
        lost = re.search(
            r'reporting segments over Kafka to \S+ again after \d+ failed attempts; (\d+) segments lost', logs
        )
        assert lost and int(lost.group(1)) == 0, logs
    finally:
        broker.stop()


@pytest.mark.parametrize('agent', ['apache-skywalking', 'skywalking-rs'])
def test_same_records_as_apache_skywalking(services, kafka_broker, upstream_python, agent):
    """The agent we replace, producing with kafka-python to the same broker: the same topics,
    keys and value types as ours (which also shows the test broker serves a real client)."""
    port = free_port()
    python = upstream_python if agent == 'apache-skywalking' else None
    extra = {'python': python} if python else {}
    services.start(
        'provider',
        PROVIDER,
        port,
        **extra,
        **kafka_env(kafka_broker, SW_AGENT_METER_REPORTER_ACTIVE='False', SW_AGENT_LOG_REPORTER_ACTIVE='False'),
    )

    call_provider(port, times=2)

    assert kafka_broker.wait_for(lambda: len(kafka_broker.produced(SEGMENTS)) >= 2), services.logs()
    assert kafka_broker.wait_for(lambda: len(kafka_broker.produced(MANAGEMENT)) >= 2), services.logs()
    assert_upstream_shape(kafka_broker, 'provider-instance')
    assert {r.topic for r in kafka_broker.produced()} == {SEGMENTS, MANAGEMENT}
    assert not kafka_broker.errors
