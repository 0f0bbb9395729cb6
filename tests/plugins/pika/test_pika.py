"""The pika plugin against this machine's RabbitMQ (127.0.0.1:5672): an HTTP producer
publishes, a consumer (blocking connection, ``basic_consume`` or ``basic_get``) receives, both
under `sw-python run`. Each test declares an exchange and a queue of its own (``mq_pika_*``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import http_get
from tests.plugins import scenario
from tests.plugins.scenario import ERROR_LOGS, expected_file, start_amqp_pair

HERE = Path(__file__).parent


def start(services, plugin_python: str, mode: str = 'consume') -> dict[str, str]:
    return start_amqp_pair(services, HERE, plugin_python, 'mq_pika', MODE=mode)


def check(collector, services, name: str, values: dict[str, str]) -> None:
    scenario.check(collector, services, expected_file(HERE, name, values))


@pytest.mark.parametrize('mode', ['consume', 'get'])
def test_a_published_message_continues_the_trace_in_the_consumer(services, collector, plugin_python, mode):
    values = start(services, plugin_python, mode)
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/publish')[0] == 200
    values.update(PATH='publish', CONSUMER_ERROR='false', CONSUMER_LOGS='')
    check(collector, services, 'publish.yml', values)
    # The application's own header travelled next to the agent's.
    services.wait_for_log('consumer', "b'hello' ['mine', 'sw8']")


def test_a_callback_that_raises_is_an_error_span_and_the_error_reaches_the_application(
    services, collector, plugin_python
):
    values = start(services, plugin_python)
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/fail')[0] == 200
    values.update(PATH='fail', CONSUMER_ERROR='true', CONSUMER_LOGS=ERROR_LOGS)
    check(collector, services, 'publish.yml', values)
    services.wait_for_log('consumer', 'the application saw: the consumer failed on purpose')


def test_publishing_on_a_closed_channel_is_an_error_exit_span(services, collector, plugin_python):
    values = start(services, plugin_python)
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/closed')[0] == 503
    check(collector, services, 'closed.yml', values)
    services.wait_for_log('producer', 'publish failed:')


COPY_CHECK = """
import pika
from skywalking.plugins import sw_rabbitmq

sw_rabbitmq._basic_properties[0] = pika.BasicProperties  # as install() sets it
mine = pika.BasicProperties(content_type='text/plain', priority=3, headers={'mine': 'kept'})
sent = sw_rabbitmq._copy_properties(mine)
assert type(sent) is pika.BasicProperties and sent is not mine, sent
assert vars(sent) == vars(mine), vars(sent)
sent.headers = {'mine': 'kept', 'sw8': 'x'}
assert mine.headers == {'mine': 'kept'}, mine.headers


class Subclass(pika.BasicProperties):  # anything else goes through copy.copy
    pass


theirs = Subclass(headers={'a': 'b'})
copied = sw_rabbitmq._copy_properties(theirs)
assert type(copied) is Subclass and copied is not theirs and vars(copied) == vars(theirs)
print('ok')
"""


def test_the_properties_sent_are_a_copy_and_the_callers_object_is_left_alone(plugin_python):
    done = subprocess.run([plugin_python, '-c', COPY_CHECK], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == 'ok', done.stderr
