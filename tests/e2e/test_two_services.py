"""A consumer calling a provider, both under `sw-python run`, reporting over gRPC, HTTP or
Kafka (through the tests' protocol-level Kafka broker, tests/kafka_broker.py, which forwards
to the collector) to the local collector; the received segments must match the expected
data, span for span. The services and expected data are the plugin scenarios of Flask and
`http.server` (tests/plugins/flask, tests/plugins/http_server), which test the plugins
themselves on every declared library version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import free_port, http_get

PLUGINS = Path(__file__).parent.parent / 'plugins'
#: framework -> the plugin scenario folder with its services and expected data
SCENARIOS = {'http': PLUGINS / 'http_server', 'flask': PLUGINS / 'flask'}


def service(framework: str, role: str) -> Path:
    return SCENARIOS[framework] / 'services' / f'{role}.py'


def expected(framework: str, provider_port: int, consumer_port: int) -> str:
    text = (SCENARIOS[framework] / 'expected' / f'{framework}.yml').read_text()
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
    services.start('provider', service(framework, 'provider'), provider_port, **reporting)
    services.start(
        'consumer',
        service(framework, 'consumer'),
        consumer_port,
        PROVIDER_PORT=str(provider_port),
        **reporting,
    )

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users')

    assert status == 200
    # The correlation set in the consumer travelled in sw8-correlation to the provider.
    assert json.loads(body) == {'correlation': 'correlation'}
    ok, reason = collector.validate(expected(framework, provider_port, consumer_port))
    assert ok, f'{reason}\n{services.logs()}'


@pytest.mark.parametrize('framework', ['http', 'flask'])
def test_apache_skywalking_produces_the_same_data(services, collector, upstream_python, framework):
    """The same app under the agent we replace passes the same expected data, except the
    one documented difference: upstream names the exit span, not the caller's endpoint,
    as the parent endpoint of the thread's call."""
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', service(framework, 'provider'), provider_port, python=upstream_python)
    services.start(
        'consumer',
        service(framework, 'consumer'),
        consumer_port,
        python=upstream_python,
        PROVIDER_PORT=str(provider_port),
        SW_AGENT_METER_REPORTER_ACTIVE='False',
        SW_AGENT_LOG_REPORTER_ACTIVE='False',
    )

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users')

    assert status == 200
    assert json.loads(body) == {'correlation': 'correlation'}
    upstream_expected = expected(framework, provider_port, consumer_port).replace(
        'parentEndpoint: /test', 'parentEndpoint: /users'
    )
    ok, reason = collector.validate(upstream_expected)
    assert ok, f'{reason}\n{services.logs()}'
