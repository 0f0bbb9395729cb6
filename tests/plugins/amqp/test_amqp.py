"""The amqp (py-amqp) plugin against this machine's RabbitMQ (127.0.0.1:5672): an HTTP producer
publishes (plain and in publisher-confirm mode), a consumer (``basic_consume``) receives, both
under `sw-python run`. Each test declares an exchange and a queue of its own (``mq_amqp_*``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import http_get
from tests.plugins import scenario
from tests.plugins.scenario import ERROR_LOGS, expected_file, start_amqp_pair

HERE = Path(__file__).parent


def start(services, plugin_python: str) -> dict[str, str]:
    return start_amqp_pair(services, HERE, plugin_python, 'mq_amqp')


def check(collector, services, name: str, values: dict[str, str]) -> None:
    scenario.check(collector, services, expected_file(HERE, name, values))


@pytest.mark.parametrize('path', ['publish', 'confirm'])
def test_a_published_message_continues_the_trace_in_the_consumer(services, collector, plugin_python, path):
    values = start(services, plugin_python)
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/{path}')[0] == 200
    values.update(PATH=path, CONSUMER_ERROR='false', CONSUMER_LOGS='')
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
