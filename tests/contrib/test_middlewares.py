"""`skywalking.contrib.wsgi` and `skywalking.contrib.asgi` on applications no plugin covers:
a Quart consumer (ASGI middleware in one line) calling a hand-written WSGI provider (WSGI
middleware) on wsgiref, a hand-written ASGI app on uvicorn (HTTP, websocket, errors, 50
concurrent requests), and the WSGI middleware under werkzeug's server (one entry span)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
WSGI_APP = HERE / 'services' / 'wsgi_app.py'
ASGI_APP = HERE / 'services' / 'asgi_app.py'
QUART_APP = HERE / 'services' / 'quart_app.py'


def only_entry(collector, service: str, services) -> dict:
    settle(collector, service, lambda found: len(found) >= 1)
    spans = entry_spans(collector, service)
    assert len(spans) == 1, f'{spans}\n{services.logs()}'
    return spans[0]


def test_quart_consumer_calls_wsgi_provider(services, collector):
    pytest.importorskip('quart')
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', WSGI_APP, provider_port)
    services.start('consumer', QUART_APP, consumer_port, PROVIDER_PORT=str(provider_port))

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users')

    assert status == 200
    assert json.loads(body) == {'correlation': 'correlation'}
    ok, reason = collector.validate(expected(HERE, 'contrib.yml', provider=provider_port, consumer=consumer_port))
    assert ok, f'{reason}\n{services.logs()}'


def test_quart_error_handler_answer_is_an_error_span(services, collector):
    pytest.importorskip('quart')
    port = free_port()
    services.start('consumer', QUART_APP, port)

    assert http_get(f'http://127.0.0.1:{port}/error')[0] == 500

    span = only_entry(collector, 'consumer', services)
    assert (span['operationName'], span['isError'], tags(span)['http.status_code']) == ('/error', True, '500')


@pytest.mark.parametrize('server', ['wsgiref', 'werkzeug'])
def test_wsgi_app_that_raises(services, collector, server):
    port = free_port()
    services.start('provider', WSGI_APP, port, SERVER=server)

    assert http_get(f'http://127.0.0.1:{port}/error')[0] == 500

    span = only_entry(collector, 'provider', services)
    assert (span['operationName'], span['isError'], span['componentId']) == ('/error', True, 7000)
    assert list(tags(span).items()) == [
        ('http.method', 'GET'),
        ('http.url', f'http://127.0.0.1:{port}/error'),
        ('http.status_code', '500'),
    ]
    assert 'ValueError: the handler failed on purpose' in span['logs'][0]['logEvent'][0]['value']
    assert 'ValueError: the handler failed on purpose' in services.logs()  # re-raised to the server


@pytest.mark.parametrize('server', ['wsgiref', 'werkzeug'])
def test_wsgi_one_entry_span_per_request(services, collector, server):
    """Under werkzeug the middleware takes the server plugin's span over: still one span."""
    port = free_port()
    services.start('provider', WSGI_APP, port, SERVER=server)

    assert http_get(f'http://127.0.0.1:{port}/missing')[0] == 404

    found = settle(collector, 'provider', lambda found: len(found) >= 1)
    assert [[(s['spanType'], s['operationName']) for s in segment['spans']] for segment in found] == [
        [('Entry', '/missing')]
    ], services.logs()
    span = found[0]['spans'][0]
    assert (span['isError'], tags(span)['http.status_code']) == (True, '404')


def test_wsgi_ignored_method(services, collector):
    port = free_port()
    services.start('provider', WSGI_APP, port, SW_PLUGIN_HTTP_IGNORE_METHOD='POST')

    assert http_get(f'http://127.0.0.1:{port}/users', method='POST')[0] == 200
    assert http_get(f'http://127.0.0.1:{port}/users')[0] == 200

    settle(collector, 'provider', lambda found: len(found) >= 1)
    assert [tags(span)['http.method'] for span in entry_spans(collector, 'provider')] == ['GET']


def test_asgi_http_websocket_and_errors(services, collector):
    port = free_port()
    services.start('asgi', ASGI_APP, port)

    assert http_get(f'http://127.0.0.1:{port}/hello?x=1') == (200, b'hello')
    assert http_get(f'http://127.0.0.1:{port}/missing')[0] == 404
    assert http_get(f'http://127.0.0.1:{port}/error')[0] == 500
    assert websocket_echo(f'ws://127.0.0.1:{port}/ws', 'hi') == 'echo hi'

    settle(collector, 'asgi', lambda found: len(found) >= 4)
    spans = {span['operationName']: span for span in entry_spans(collector, 'asgi')}
    assert sorted(spans) == ['/error', '/hello', '/missing', '/ws'], services.logs()
    assert {name: (span['isError'], tags(span)['http.status_code']) for name, span in spans.items()} == {
        '/hello': (False, '200'),
        '/missing': (True, '404'),
        '/error': (True, '500'),
        '/ws': (False, '200'),
    }
    assert all(span['componentId'] == 7000 for span in spans.values())
    assert tags(spans['/hello']) == {
        'http.method': 'GET',
        'http.url': f'http://127.0.0.1:{port}/hello',
        'http.status_code': '200',
    }
    assert tags(spans['/ws'])['http.method'] == 'websocket.accept'
    assert 'ValueError: the handler failed on purpose' in spans['/error']['logs'][0]['logEvent'][0]['value']
    assert len(segments(collector, 'asgi')) == 4


def test_asgi_concurrent_requests_keep_their_own_segments(services, collector):
    port = free_port()
    services.start('asgi', ASGI_APP, port)

    answers = concurrent_gets([f'http://127.0.0.1:{port}/item/{n}' for n in range(50)])

    assert [status for status, _ in answers] == [200] * 50
    check_own_segments(wait_for_segments(collector, 'asgi', 50), 50)
