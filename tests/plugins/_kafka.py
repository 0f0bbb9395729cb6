"""The tests every Kafka client's scenario shares (kafka-python, confluent-kafka, aiokafka),
as test factories over the stand-in broker (`tests/kafka_broker.py`, fixture ``kafka_broker``).

A scenario folder has ``services/producer.py`` (``/send`` sends one record with an
application header to ``TOPIC`` on ``BROKER``; ``/down`` sends to a broker on ``DOWN_PORT``
that is not there and answers 503 with the library's own error) and
``services/consumer.py`` (reads ``TOPIC`` as its ``MODE`` says), and ``expected/<mode>.yml``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import free_port, http_get
from tests.plugins.scenario import check, down_expected, kafka_round_trip


def round_trip(folder: Path, prefix: str, modes: Sequence[str], subscribe_as: str):
    """A record sent by the producer continues the trace in the consumer, read in each of
    `modes`; a ``subscribe`` consumer gives the same spans as the `subscribe_as` one."""

    @pytest.mark.parametrize('mode', list(modes))
    def test_a_sent_record_continues_the_trace_in_the_consumer(services, collector, plugin_python, kafka_broker, mode):
        expected = f'{subscribe_as if mode == "subscribe" else mode}.yml'
        kafka_round_trip(services, collector, plugin_python, kafka_broker, folder, prefix, mode, expected)

    return test_a_sent_record_continues_the_trace_in_the_consumer


def broker_down(folder: Path, prefix: str, answer: bytes, operation: str | None = None, error: bool = False):
    """``/down`` answers 503 with `answer` (the library's own error, unchanged by the agent);
    the request's entry span has under it, when `operation` is given (``{topic}`` filled in),
    a producer exit span to the missing broker, an error span when `error`."""

    def test(services, collector, plugin_python, kafka_broker):
        topic, down, port = f'{prefix}_{uuid.uuid4().hex[:12]}', free_port(), free_port()
        env = {'BROKER': kafka_broker.address, 'TOPIC': topic, 'DOWN_PORT': str(down)}
        services.start('producer', folder / 'services' / 'producer.py', port, python=plugin_python, **env)

        assert http_get(f'http://127.0.0.1:{port}/down') == (503, answer)

        peer = f'127.0.0.1:{down}'
        exit_span = None
        if operation is not None:
            exit_span = {'op': operation.format(topic=topic), 'component': 40, 'peer': peer, 'error': error,
                         'tags': [('mq.broker', peer), ('mq.topic', topic)]}  # fmt: skip
        check(collector, services, down_expected('producer', f'http://127.0.0.1:{port}/down', exit_span))

    return test
