"""The aiohttp client (sw_aiohttp's client half; see tests/plugins/_http_clients)."""

from skywalking import Component
from tests.plugins._http_clients import scenario


def test_aiohttp_client_calls_are_one_exit_span_each(services, collector, plugin_python):
    scenario.run(
        services,
        collector,
        plugin_python,
        'aiohttp',
        Component.AioHttp,
        {'refused': 'aiohttp.client_exceptions.ClientConnectorError', 'timeout': 'builtins.TimeoutError'},
    )


def test_calls_to_the_agents_own_http_backend_are_not_traced(services, collector, plugin_python):
    _, consumer_port = scenario.start(
        services,
        plugin_python,
        'aiohttp',
        SW_AGENT_PROTOCOL='http',
        SW_AGENT_COLLECTOR_BACKEND_SERVICES=f'127.0.0.1:{collector.http_port}',
    )

    assert scenario.call(consumer_port, 'collector') == '200'
    assert scenario.call(consumer_port, 'users') == '200'

    spans = scenario.consumer_segment(collector, '/collector')
    assert [s['spanType'] for s in spans] == ['Entry'], spans
    # The same client to anywhere else is traced.
    assert [s['spanType'] for s in scenario.consumer_segment(collector, '/users')] == ['Exit', 'Entry']
