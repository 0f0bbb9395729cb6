"""The `urllib.request` plugin: exit spans for `urlopen` (a POST, and a 404 that raises
HTTPError) carrying the trace to an `http.server` provider."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent


def test_urlopen_exit_spans(services, collector, plugin_python):
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', HERE / 'services' / 'provider.py', provider_port, python=plugin_python)
    services.start(
        'consumer',
        HERE / 'services' / 'consumer.py',
        consumer_port,
        python=plugin_python,
        PROVIDER_PORT=str(provider_port),
    )

    assert http_get(f'http://127.0.0.1:{consumer_port}/users')[0] == 200
    assert http_get(f'http://127.0.0.1:{consumer_port}/missing')[0] == 502

    text = (HERE / 'expected' / 'urllib.yml').read_text()
    text = text.replace('PROVIDER_PORT', str(provider_port)).replace('CONSUMER_PORT', str(consumer_port))
    ok, reason = collector.validate(text)
    assert ok, f'{reason}\n{services.logs()}'
