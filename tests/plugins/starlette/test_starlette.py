"""The FastAPI plugin on a plain Starlette application (no FastAPI installed): HTTP and
websocket entry spans, a handler that raises with no exception handler, and 50 concurrent
requests, on the Starlette version of `plugin_python`."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import free_port, http_get
from tests.plugins._scenario import (
    check_own_segments,
    concurrent_gets,
    entry_spans,
    settle,
    tags,
    wait_for_segments,
    websocket_echo,
)

HERE = Path(__file__).parent
APP = HERE / 'services' / 'app.py'


def test_http_and_websocket(services, collector, plugin_python):
    port = free_port()
    services.start('starlette', APP, port, python=plugin_python)

    assert http_get(f'http://127.0.0.1:{port}/hello/world?x=1') == (200, b'{"hello":"world"}')
    assert websocket_echo(f'ws://127.0.0.1:{port}/ws', 'hi') == 'echo hi'

    settle(collector, 'starlette', lambda found: len(found) >= 2)
    spans = sorted(entry_spans(collector, 'starlette'), key=lambda span: span['operationName'])
    assert [(span['operationName'], span['componentId'], span['spanLayer'], span['isError']) for span in spans] == [
        ('/hello/world', 7014, 'Http', False),
        ('/ws', 7014, 'Http', False),
    ], services.logs()
    assert tags(spans[0]) == {
        'http.method': 'GET',
        'http.url': f'http://127.0.0.1:{port}/hello/world',
        'http.status_code': '200',
    }
    assert tags(spans[1]) == {
        'http.method': 'websocket.accept',
        'http.url': f'ws://127.0.0.1:{port}/ws',
        'http.status_code': '200',
    }


def test_handler_that_raises_without_a_handler(services, collector, plugin_python):
    port = free_port()
    services.start('starlette', APP, port, python=plugin_python)

    assert http_get(f'http://127.0.0.1:{port}/error')[0] == 500

    settle(collector, 'starlette', lambda found: len(found) >= 1)
    spans = entry_spans(collector, 'starlette')
    assert len(spans) == 1, services.logs()
    assert spans[0]['isError'] is True
    assert tags(spans[0])['http.status_code'] == '500'
    assert 'ValueError: the handler failed on purpose' in spans[0]['logs'][0]['logEvent'][0]['value']
    assert 'ValueError: the handler failed on purpose' in services.logs()  # re-raised to uvicorn


def test_concurrent_requests_keep_their_own_segments(services, collector, plugin_python):
    port = free_port()
    services.start('starlette', APP, port, python=plugin_python)

    answers = concurrent_gets([f'http://127.0.0.1:{port}/item/{n}' for n in range(50)])

    assert [status for status, _ in answers] == [200] * 50
    check_own_segments(wait_for_segments(collector, 'starlette', 50), 50)
