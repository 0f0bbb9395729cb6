"""The aiokafka plugin. Kafka cannot run here: the producer and the consumer talk to the
tests' protocol-level stand-in (`tests/kafka_broker.py`: Produce, Fetch, ListOffsets and
the group protocol). The consumer assigns itself partition 0 under a group id, or joins its
group with ``subscribe()``. Both run under `sw-python run` (gRPC to the local collector)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port, http_get
from tests.kafka_broker import JOIN_GROUP, OFFSET_COMMIT, SYNC_GROUP
from tests.plugins.scenario import down_expected

HERE = Path(__file__).parent
SERVICES = HERE / 'services'


@pytest.mark.parametrize('mode', ['iterate', 'poll', 'subscribe'])
def test_a_sent_record_continues_the_trace_in_the_consumer(services, collector, plugin_python, kafka_broker, mode):
    topic = f'mq_aiokafka_{uuid.uuid4().hex[:12]}'
    env = {'BROKER': kafka_broker.address, 'TOPIC': topic}
    producer_port = free_port()
    services.start('producer', SERVICES / 'producer.py', producer_port, python=plugin_python, **env)
    consumer_env = {**env, 'MODE': mode, 'PRODUCER_PORT': str(producer_port)}
    services.start('consumer', SERVICES / 'consumer.py', free_port(), python=plugin_python, **consumer_env)

    assert http_get(f'http://127.0.0.1:{producer_port}/send')[0] == 200

    # A subscribed consumer iterates: the same spans as an assigned one.
    text = (HERE / 'expected' / f'{"iterate" if mode == "subscribe" else mode}.yml').read_text()
    text = text.replace('PRODUCER_PORT', str(producer_port)).replace('BROKER', kafka_broker.address)
    ok, reason = collector.validate(text.replace('TOPIC', topic), timeout=30)
    assert ok, f'{reason}\n{collector.receive_data()}\n{services.logs()}\n{kafka_broker.errors}'
    # The application's header travelled next to the agent's.
    services.wait_for_log('consumer', "received b'hello' ['mine', 'sw8']")
    if mode == 'subscribe':  # it was a member of its group, and committed
        wanted = {JOIN_GROUP, SYNC_GROUP, OFFSET_COMMIT}
        assert kafka_broker.wait_for(lambda: wanted <= {api for api, _, _ in kafka_broker.requests})


def test_a_broker_that_is_down_fails_the_start_unchanged(services, collector, plugin_python, kafka_broker):
    topic, down, port = f'mq_aiokafka_{uuid.uuid4().hex[:12]}', free_port(), free_port()
    env = {'BROKER': kafka_broker.address, 'TOPIC': topic, 'DOWN_PORT': str(down)}
    services.start('producer', SERVICES / 'producer.py', port, python=plugin_python, **env)
    # aiokafka's own exception reached the application, unchanged; nothing was sent, so
    # there is no exit span (start() is not a send).
    assert http_get(f'http://127.0.0.1:{port}/down') == (503, b'KafkaConnectionError')
    ok, reason = collector.validate(down_expected('producer', f'http://127.0.0.1:{port}/down'))
    assert ok, f'{reason}\n{collector.receive_data()}\n{services.logs()}'
