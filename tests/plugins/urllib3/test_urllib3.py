"""urllib3 (sw_urllib3 on 1.x, sw_urllib3_v2 on 2.x): consumer -> provider over loopback,
one trace, one exit span per call, error spans (see tests/plugins/_http_clients)."""

from skywalking import Component
from tests.plugins._http_clients import scenario


def test_urllib3_calls_are_one_exit_span_each(services, collector, plugin_python):
    scenario.run(
        services,
        collector,
        plugin_python,
        'urllib3',
        Component.Urllib3,
        {'refused': 'urllib3.exceptions.NewConnectionError', 'timeout': 'urllib3.exceptions.ReadTimeoutError'},
    )
