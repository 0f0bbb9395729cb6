"""The confluent-kafka plugin. Kafka cannot run here: the producer and the consumer talk to the
tests' protocol-level stand-in (`tests/kafka_broker.py`: Produce, Fetch, ListOffsets and
the group protocol). The consumer assigns itself partition 0 under a group id, or joins its
group with ``subscribe()``. Both run under `sw-python run` (gRPC to the local collector)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port, http_get
from tests.plugins.scenario import check, down_expected, kafka_round_trip

HERE = Path(__file__).parent
SERVICES = HERE / 'services'


@pytest.mark.parametrize('mode', ['poll', 'consume', 'subscribe'])
def test_a_sent_record_continues_the_trace_in_the_consumer(services, collector, plugin_python, kafka_broker, mode):
    # A subscribed consumer reads as the poll one: the same spans.
    expected = f'{"poll" if mode == "subscribe" else mode}.yml'
    kafka_round_trip(services, collector, plugin_python, kafka_broker, HERE, 'mq_confluent', mode, expected)


def test_a_broker_that_is_down_reaches_the_delivery_callback(services, collector, plugin_python, kafka_broker):
    topic, down, port = f'mq_confluent_{uuid.uuid4().hex[:12]}', free_port(), free_port()
    env = {'BROKER': kafka_broker.address, 'TOPIC': topic, 'DOWN_PORT': str(down)}
    services.start('producer', SERVICES / 'producer.py', port, python=plugin_python, **env)
    # librdkafka's own error reached the application's delivery callback, unchanged.
    assert http_get(f'http://127.0.0.1:{port}/down') == (503, b'_MSG_TIMED_OUT')
    # produce() itself worked (the message was queued): as upstream, not an error span.
    peer = f'127.0.0.1:{down}'
    exit_span = {'op': f'Kafka/{topic}//Producer', 'component': 40, 'peer': peer,
                 'tags': [('mq.broker', peer), ('mq.topic', topic)]}  # fmt: skip
    check(collector, services, down_expected('producer', f'http://127.0.0.1:{port}/down', exit_span))
