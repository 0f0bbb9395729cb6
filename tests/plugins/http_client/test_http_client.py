"""`http.client` used directly (sw_http_client): traced and propagating when no higher-level
client plugin covers the call (see tests/plugins/_http_clients)."""

from skywalking import Component
from tests.plugins._http_clients import scenario


def test_a_bare_http_client_call_is_one_exit_span(services, collector, plugin_python):
    scenario.run(
        services,
        collector,
        plugin_python,
        'http_client',
        Component.General,
        {'refused': 'builtins.ConnectionRefusedError', 'timeout': 'builtins.TimeoutError'},
    )
