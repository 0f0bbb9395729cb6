"""`requests` runs over urllib3 over `http.client`, all three traced: a call is still one
exit span, the requests plugin's (see tests/plugins/_http_clients)."""

from skywalking import Component
from tests.plugins._http_clients import scenario


def test_a_requests_call_is_one_exit_span(services, collector, plugin_python):
    scenario.run(
        services,
        collector,
        plugin_python,
        'requests',
        Component.Requests,
        {'refused': 'requests.exceptions.ConnectionError', 'timeout': 'requests.exceptions.ReadTimeout'},
    )
