"""aio-pika, traced through the aiormq plugin, against this machine's RabbitMQ: an HTTP
producer publishes with aio-pika, a consumer receives with ``queue.consume``; both under
`sw-python run`, on an exchange and queue of the test's own (``mq_aiopika_*``)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import http_get
from tests.plugins.scenario import check, expected_file, start_amqp_pair

HERE = Path(__file__).parent


def test_a_published_message_continues_the_trace_in_the_consumer(services, collector, plugin_python):
    values = start_amqp_pair(services, HERE, plugin_python, 'mq_aiopika')

    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/publish')[0] == 200

    values.update(PATH='publish', CONSUMER_ERROR='false', CONSUMER_LOGS='')
    check(collector, services, expected_file(HERE, 'publish.yml', values))
    services.wait_for_log('consumer', "b'hello' ['mine', 'sw8']")
