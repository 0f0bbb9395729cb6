"""The FastAPI plugin (any Starlette application): a FastAPI consumer calling a FastAPI
provider on uvicorn, a handler that raises (the app's exception handler sees the request's
span), 404, an ignored method, a websocket and 50 concurrent requests, on the FastAPI
version of `plugin_python`."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import free_port
from tests.plugins._scenario import entry_spans, settle, tags, websocket_echo
from tests.plugins._web_pair import QUERY, concurrent, consumer_calls_provider, handled_error, ignored_method, not_found

HERE = Path(__file__).parent
PROVIDER = HERE / 'services' / 'provider.py'
PARAMS = {'SW_PLUGIN_FASTAPI_COLLECT_HTTP_PARAMS': 'True'}

test_consumer_calls_provider = consumer_calls_provider(HERE, 'fastapi.yml', QUERY, PARAMS)
# The app's exception handler ran inside the request's entry span, in its segment; the
# exception was re-raised unchanged: uvicorn reports the application's own exception.
test_handler_that_raises_is_an_error_span = handled_error(HERE, 'fastapi_error.yml', PARAMS, reraised_to_server=True)
test_not_found_is_an_error_span = not_found(HERE, 7014)
test_ignored_method_is_not_traced = ignored_method(HERE)
test_concurrent_requests_keep_their_own_segments = concurrent(HERE)


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
