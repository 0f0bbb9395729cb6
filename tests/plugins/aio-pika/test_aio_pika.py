"""aio-pika, traced through the aiormq plugin, against this machine's RabbitMQ: an HTTP
producer publishes with aio-pika, a consumer receives with ``queue.consume``; both under
`sw-python run`, on an exchange and queue of the test's own (``mq_aiopika_*``)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
SERVICES = HERE / 'services'


def test_a_published_message_continues_the_trace_in_the_consumer(services, collector, plugin_python):
    name = uuid.uuid4().hex[:12]
    env = {'EXCHANGE': f'mq_aiopika_x_{name}', 'QUEUE': f'mq_aiopika_{name}'}
    services.start('consumer', SERVICES / 'consumer.py', free_port(), python=plugin_python, **env)
    producer_port = free_port()
    services.start('producer', SERVICES / 'producer.py', producer_port, python=plugin_python, **env)

    assert http_get(f'http://127.0.0.1:{producer_port}/publish')[0] == 200

    values = {**env, 'PRODUCER_PORT': str(producer_port), 'PATH': 'publish', 'CONSUMER_ERROR': 'false'}
    values['CONSUMER_LOGS'] = ''
    text = (HERE / 'expected' / 'publish.yml').read_text()
    for key, value in sorted(values.items(), key=lambda item: -len(item[0])):
        text = text.replace(key, value)
    ok, reason = collector.validate(text, timeout=30)
    assert ok, f'{reason}\n{collector.receive_data()}\n{services.logs()}'
    services.wait_for_log('consumer', "b'hello' ['mine', 'sw8']")
