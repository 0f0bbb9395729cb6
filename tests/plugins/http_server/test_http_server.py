"""The `http.server` plugin: an `http.server` consumer calling an `http.server` provider with
`requests`; entry spans of component General with method, URL and status."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent


def expected(name: str, provider_port: int, consumer_port: int) -> str:
    text = (HERE / 'expected' / name).read_text()
    return text.replace('PROVIDER_PORT', str(provider_port)).replace('CONSUMER_PORT', str(consumer_port))


def test_consumer_calls_provider(services, collector, plugin_python):
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', HERE / 'services' / 'provider.py', provider_port, python=plugin_python)
    services.start(
        'consumer',
        HERE / 'services' / 'consumer.py',
        consumer_port,
        python=plugin_python,
        PROVIDER_PORT=str(provider_port),
    )

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users')

    assert status == 200
    assert json.loads(body) == {'correlation': 'correlation'}
    ok, reason = collector.validate(expected('http.yml', provider_port, consumer_port))
    assert ok, f'{reason}\n{services.logs()}'
