"""A consumer calling a provider, both under `sw-python run`, reporting over gRPC, HTTP or
Kafka (through the tests' protocol-level Kafka broker, tests/kafka_broker.py, which forwards
to the collector) to the local collector; the received segments must match the expected
data, span for span."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent


def expected(name: str, provider_port: int, consumer_port: int) -> str:
    text = (HERE / 'expected' / name).read_text()
    return text.replace('PROVIDER_PORT', str(provider_port)).replace('CONSUMER_PORT', str(consumer_port))


@pytest.mark.parametrize('protocol', ['grpc', 'http', 'kafka'])
@pytest.mark.parametrize('framework', ['http', 'flask'])
def test_consumer_calls_provider(services, collector, request, framework, protocol):
    provider_port, consumer_port = free_port(), free_port()
    # Over HTTP the agent posts OAP's JSON endpoints on the collector's HTTP port.
    backend = collector.grpc_address if protocol == 'grpc' else f'127.0.0.1:{collector.http_port}'
    reporting = {'SW_AGENT_PROTOCOL': protocol, 'SW_AGENT_COLLECTOR_BACKEND_SERVICES': backend}
    if protocol == 'kafka':
        # No Kafka can run here: the test broker stands in for it and forwards to the collector.
        reporting['SW_KAFKA_BOOTSTRAP_SERVERS'] = request.getfixturevalue('kafka_broker').address
    services.start('provider', HERE / 'services' / f'{framework}_provider.py', provider_port, **reporting)
    services.start(
        'consumer',
        HERE / 'services' / f'{framework}_consumer.py',
        consumer_port,
        PROVIDER_PORT=str(provider_port),
        **reporting,
    )

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users')

    assert status == 200
    # The correlation set in the consumer travelled in sw8-correlation to the provider.
    assert json.loads(body) == {'correlation': 'correlation'}
    ok, reason = collector.validate(expected(f'{framework}.yml', provider_port, consumer_port))
    assert ok, f'{reason}\n{services.logs()}'


@pytest.mark.parametrize('framework', ['http', 'flask'])
def test_apache_skywalking_produces_the_same_data(services, collector, upstream_python, framework):
    """The same app under the agent we replace passes the same expected data, except the
    one documented difference: upstream names the exit span, not the caller's endpoint,
    as the parent endpoint of the thread's call."""
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', HERE / 'services' / f'{framework}_provider.py', provider_port, python=upstream_python)
    services.start(
        'consumer',
        HERE / 'services' / f'{framework}_consumer.py',
        consumer_port,
        python=upstream_python,
        PROVIDER_PORT=str(provider_port),
        SW_AGENT_METER_REPORTER_ACTIVE='False',
        SW_AGENT_LOG_REPORTER_ACTIVE='False',
    )

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users')

    assert status == 200
    assert json.loads(body) == {'correlation': 'correlation'}
    upstream_expected = expected(f'{framework}.yml', provider_port, consumer_port).replace(
        'parentEndpoint: /test', 'parentEndpoint: /users'
    )
    ok, reason = collector.validate(upstream_expected)
    assert ok, f'{reason}\n{services.logs()}'


def test_handler_exception_is_an_error_span(services, collector):
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', HERE / 'services' / 'flask_provider.py', provider_port)
    services.start('consumer', HERE / 'services' / 'flask_consumer.py', consumer_port, PROVIDER_PORT=str(provider_port))

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/error')

    assert status == 502
    assert json.loads(body) == {'provider_status': 500}
    ok, reason = collector.validate(expected('flask_error.yml', provider_port, consumer_port))
    assert ok, f'{reason}\n{services.logs()}'
    assert 'the handler failed on purpose' in collector.receive_data()


def test_flask_skips_requests_of_an_ignored_method(services, collector):
    """`plugin_http_ignore_method` is checked where the Flask plugin opens its entry span:
    a POST is served untraced, while a GET to the same endpoint is traced. The server
    plugin is disabled, as under a server no plugin covers (gunicorn): otherwise werkzeug's
    server span would drop the POST before Flask sees it."""
    provider_port = free_port()
    services.start(
        'provider',
        HERE / 'services' / 'flask_provider.py',
        provider_port,
        SW_PLUGIN_HTTP_IGNORE_METHOD='POST',
        SW_AGENT_DISABLE_PLUGINS='sw_http_server',
    )

    assert http_get(f'http://127.0.0.1:{provider_port}/users', method='POST')[0] == 200
    assert http_get(f'http://127.0.0.1:{provider_port}/users')[0] == 200

    def entry_spans() -> list[dict]:
        data = yaml.safe_load(collector.receive_data())
        return [
            span
            for item in data.get('segmentItems') or []
            if item['serviceName'] == 'provider'
            for segment in item['segments']
            for span in segment['spans']
            if span['spanType'] == 'Entry'
        ]

    deadline = time.monotonic() + 20
    while not entry_spans() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1)  # a POST segment, if one were sent, would have arrived with the GET's
    spans = entry_spans()
    methods = [tag['value'] for span in spans for tag in span.get('tags', []) if tag['key'] == 'http.method']
    assert methods == ['GET'], f'{spans}\n{services.logs()}'
