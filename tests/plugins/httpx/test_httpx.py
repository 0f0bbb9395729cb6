"""httpx, sync and async clients (sw_httpx; see tests/plugins/_http_clients)."""

import pytest

from skywalking import Component
from tests.plugins._http_clients import scenario


@pytest.mark.parametrize('client', ['httpx', 'httpx_async'])
def test_httpx_calls_are_one_exit_span_each(services, collector, plugin_python, client):
    scenario.run(
        services,
        collector,
        plugin_python,
        client,
        Component.HTTPX,
        {'refused': 'httpx.ConnectError', 'timeout': 'httpx.ReadTimeout'},
    )
