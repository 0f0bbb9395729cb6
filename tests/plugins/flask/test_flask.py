"""The Flask plugin: a Flask consumer calling a Flask provider (both on werkzeug's development
server, as upstream's scenario), an error, an ignored method and collected parameters, on the
Flask version `tools/plugin_matrix.py` installed (`plugin_python`)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
PROVIDER = HERE / 'services' / 'provider.py'
CONSUMER = HERE / 'services' / 'consumer.py'


def expected(name: str, provider_port: int, consumer_port: int) -> str:
    text = (HERE / 'expected' / name).read_text()
    return text.replace('PROVIDER_PORT', str(provider_port)).replace('CONSUMER_PORT', str(consumer_port))


def start_pair(services, plugin_python, **env) -> tuple[int, int]:
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', PROVIDER, provider_port, python=plugin_python, **env)
    services.start('consumer', CONSUMER, consumer_port, python=plugin_python, PROVIDER_PORT=str(provider_port), **env)
    return provider_port, consumer_port


def entry_spans(collector, service: str) -> list[dict]:
    data = yaml.safe_load(collector.receive_data())
    return [
        span
        for item in data.get('segmentItems') or []
        if item['serviceName'] == service
        for segment in item['segments']
        for span in segment['spans']
        if span['spanType'] == 'Entry'
    ]


def wait_for_entry(collector, service: str, operation: str, timeout: float = 20.0) -> list[dict]:
    """The entry spans of `service` once one named `operation` arrived."""
    deadline = time.monotonic() + timeout
    while True:
        spans = entry_spans(collector, service)
        if any(span['operationName'] == operation for span in spans) or time.monotonic() > deadline:
            return spans
        time.sleep(0.2)


def tags(span: dict) -> dict[str, str]:
    return {tag['key']: tag['value'] for tag in span.get('tags') or []}


def test_consumer_calls_provider(services, collector, plugin_python):
    provider_port, consumer_port = start_pair(services, plugin_python)

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users')

    assert status == 200
    # The correlation set in the consumer travelled in sw8-correlation to the provider.
    assert json.loads(body) == {'correlation': 'correlation'}
    ok, reason = collector.validate(expected('flask.yml', provider_port, consumer_port))
    assert ok, f'{reason}\n{services.logs()}'


def test_handler_exception_is_an_error_span(services, collector, plugin_python):
    provider_port, consumer_port = start_pair(services, plugin_python)

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/error')

    assert status == 502
    assert json.loads(body) == {'provider_status': 500}
    ok, reason = collector.validate(expected('flask_error.yml', provider_port, consumer_port))
    assert ok, f'{reason}\n{services.logs()}'
    assert 'the handler failed on purpose' in collector.receive_data()


def test_flask_skips_requests_of_an_ignored_method(services, collector, plugin_python):
    """`plugin_http_ignore_method` is checked where the Flask plugin opens its entry span:
    a POST is served untraced, while a GET to the same endpoint is traced. The server
    plugin is disabled, as under a server no plugin covers (gunicorn): otherwise werkzeug's
    server span would drop the POST before Flask sees it."""
    provider_port = free_port()
    services.start(
        'provider',
        PROVIDER,
        provider_port,
        python=plugin_python,
        SW_PLUGIN_HTTP_IGNORE_METHOD='POST',
        SW_AGENT_DISABLE_PLUGINS='sw_http_server',
    )

    assert http_get(f'http://127.0.0.1:{provider_port}/users', method='POST')[0] == 200
    assert http_get(f'http://127.0.0.1:{provider_port}/users')[0] == 200

    # One reporter sends the segments in the order they finished: once the GET's arrived, a
    # POST's would have arrived before it.
    spans = wait_for_entry(collector, 'provider', '/users')
    methods = [tags(span)['http.method'] for span in spans]
    assert methods == ['GET'], f'{spans}\n{services.logs()}'


def test_flask_alone_records_the_status(services, collector, plugin_python):
    """Under a server no plugin covers (gunicorn), the Flask plugin's own span records the
    response's status. A handler that raised makes an error span without a status, as
    upstream's (the exception leaves `full_dispatch_request`; Flask answers 500 above it)."""
    provider_port = free_port()
    services.start('provider', PROVIDER, provider_port, python=plugin_python, SW_AGENT_DISABLE_PLUGINS='sw_http_server')

    assert http_get(f'http://127.0.0.1:{provider_port}/error')[0] == 500
    assert http_get(f'http://127.0.0.1:{provider_port}/users')[0] == 200

    spans = {span['operationName']: span for span in wait_for_entry(collector, 'provider', '/users')}
    assert set(spans) == {'/error', '/users'}, f'{spans}\n{services.logs()}'
    assert tags(spans['/users'])['http.status_code'] == '200' and not spans['/users']['isError']
    assert 'http.status_code' not in tags(spans['/error']) and spans['/error']['isError']
    assert spans['/users']['componentId'] == 7001  # Flask


def test_params_are_collected_in_upstreams_order(services, collector, plugin_python):
    """With `plugin_flask_collect_http_params`, `http.params` lists query arguments then form
    fields, each key once with all its values, in the order they came (upstream iterates
    `request.values.items()`; werkzeug before 2.3 returns its keys as an unordered set)."""
    provider_port = free_port()
    services.start(
        'provider', PROVIDER, provider_port, python=plugin_python, SW_PLUGIN_FLASK_COLLECT_HTTP_PARAMS='True'
    )
    # Enough keys that a set's order would differ from this one for most hash seeds.
    query = '&'.join(f'{key}=1' for key in ('zeta', 'alpha', 'mid', 'beta', 'omega', 'gamma')) + '&alpha=2'
    status, _ = http_get(f'http://127.0.0.1:{provider_port}/users?{query}', method='POST')
    assert status == 200

    [span] = wait_for_entry(collector, 'provider', '/users')
    assert tags(span)['http.params'] == 'zeta=[1]\nalpha=[1,2]\nmid=[1]\nbeta=[1]\nomega=[1]\ngamma=[1]'
