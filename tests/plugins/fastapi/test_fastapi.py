"""The FastAPI plugin (any Starlette application): a FastAPI consumer calling a FastAPI
provider on uvicorn, a handler that raises (the app's exception handler sees the request's
span), 404, an ignored method, a websocket and 50 concurrent requests, on the FastAPI
version of `plugin_python`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import free_port, http_get
from tests.plugins._scenario import (
    check_own_segments,
    concurrent_gets,
    entry_spans,
    expected,
    segments,
    settle,
    tags,
    wait_for_segments,
    websocket_echo,
)

HERE = Path(__file__).parent
PROVIDER = HERE / 'services' / 'provider.py'
CONSUMER = HERE / 'services' / 'consumer.py'


def start_pair(services, plugin_python, **env) -> tuple[int, int]:
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', PROVIDER, provider_port, python=plugin_python, **env)
    services.start(
        'consumer',
        CONSUMER,
        consumer_port,
        python=plugin_python,
        PROVIDER_PORT=str(provider_port),
        SW_PLUGIN_FASTAPI_COLLECT_HTTP_PARAMS='True',
        **env,
    )
    return provider_port, consumer_port


def test_consumer_calls_provider(services, collector, plugin_python):
    provider_port, consumer_port = start_pair(services, plugin_python)

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users?test=test1&test=test2&test2=test2')

    assert status == 200
    assert json.loads(body) == {'correlation': 'correlation'}
    ok, reason = collector.validate(expected(HERE, 'fastapi.yml', provider=provider_port, consumer=consumer_port))
    assert ok, f'{reason}\n{services.logs()}'


def test_handler_that_raises_is_an_error_span(services, collector, plugin_python):
    provider_port, consumer_port = start_pair(services, plugin_python)

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/error')

    assert status == 502
    answer = json.loads(body)
    assert answer['provider_status'] == 500
    # The app's exception handler ran inside the request's entry span, in its segment.
    assert answer['provider']['handled'] is True
    assert answer['provider']['span'] == '/error'
    ok, reason = collector.validate(expected(HERE, 'fastapi_error.yml', provider=provider_port, consumer=consumer_port))
    assert ok, f'{reason}\n{services.logs()}'
    provider_segments = segments(collector, 'provider')
    assert [segment['segmentId'] for segment in provider_segments] == [answer['provider']['segment']]
    traceback = provider_segments[0]['spans'][0]['logs'][0]['logEvent'][0]['value']
    assert 'ValueError: the handler failed on purpose' in traceback
    # Re-raised unchanged: uvicorn reports the application's own exception.
    assert 'ValueError: the handler failed on purpose' in services.logs()


def test_not_found_is_an_error_span(services, collector, plugin_python):
    port = free_port()
    services.start('provider', PROVIDER, port, python=plugin_python)

    assert http_get(f'http://127.0.0.1:{port}/missing')[0] == 404

    settle(collector, 'provider', lambda found: len(found) >= 1)
    spans = entry_spans(collector, 'provider')
    assert len(spans) == 1, services.logs()
    assert (spans[0]['operationName'], spans[0]['isError'], spans[0]['componentId']) == ('/missing', True, 7014)
    assert tags(spans[0])['http.status_code'] == '404'


def test_ignored_method_is_not_traced(services, collector, plugin_python):
    port = free_port()
    services.start('provider', PROVIDER, port, python=plugin_python, SW_PLUGIN_HTTP_IGNORE_METHOD='POST')

    assert http_get(f'http://127.0.0.1:{port}/users', method='POST')[0] == 200
    assert http_get(f'http://127.0.0.1:{port}/users')[0] == 200

    settle(collector, 'provider', lambda found: len(found) >= 1)
    assert [tags(span)['http.method'] for span in entry_spans(collector, 'provider')] == ['GET'], services.logs()


def test_websocket_is_an_entry_span(services, collector, plugin_python):
    port = free_port()
    services.start('provider', PROVIDER, port, python=plugin_python)

    assert websocket_echo(f'ws://127.0.0.1:{port}/ws', 'hi') == 'echo hi'

    settle(collector, 'provider', lambda found: len(found) >= 1)
    spans = entry_spans(collector, 'provider')
    assert len(spans) == 1, services.logs()
    assert (spans[0]['operationName'], spans[0]['isError'], spans[0]['componentId']) == ('/ws', False, 7014)
    assert tags(spans[0]) == {
        'http.method': 'websocket.accept',
        'http.url': f'ws://127.0.0.1:{port}/ws',
        'http.status_code': '200',
    }


def test_concurrent_requests_keep_their_own_segments(services, collector, plugin_python):
    port = free_port()
    services.start('provider', PROVIDER, port, python=plugin_python)

    answers = concurrent_gets([f'http://127.0.0.1:{port}/item/{n}' for n in range(50)])

    assert [status for status, _ in answers] == [200] * 50
    check_own_segments(wait_for_segments(collector, 'provider', 50), 50)
