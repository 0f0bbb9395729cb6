"""websockets clients (sw_websockets): the legacy client (websockets 10 to 13, still shipped
later) and the asyncio client (13+) trace the handshake and send `sw8` in it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from skywalking._core import decode_sw8
from tests.conftest import free_port, http_get

HERE = Path(__file__).parent


def clients(library_version) -> list[str]:
    from packaging.version import Version

    version = library_version('websockets')
    return ['legacy', 'asyncio'] if version is None or version >= Version('13') else ['legacy']


@pytest.fixture(params=['legacy', 'asyncio'])
def client(request, library_version):
    if request.param not in clients(library_version):
        pytest.skip('websockets.asyncio arrived in websockets 13')
    return request.param


def start(services, plugin_python: str, client: str) -> tuple[int, int]:
    provider_port, consumer_port = free_port(), free_port()
    services.start_command('provider', [plugin_python, str(HERE / 'services' / 'provider.py')], provider_port, cwd=HERE)
    services.start(
        'consumer',
        HERE / 'services' / 'consumer.py',
        consumer_port,
        python=plugin_python,
        CLIENT=client,
        PROVIDER_PORT=str(provider_port),
    )
    return provider_port, consumer_port


def call(port: int, path: str) -> str:
    status, body = http_get(f'http://127.0.0.1:{port}{path}')
    assert status == 200, body
    return body.decode()


def consumer_spans(collector, endpoint: str, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = yaml.safe_load(collector.receive_data()) or {}
        for item in data.get('segmentItems') or []:
            for segment in item['segments'] if item['serviceName'] == 'consumer' else []:
                if any(s['spanType'] == 'Entry' and s['operationName'] == endpoint for s in segment['spans']):
                    return segment['spans']
        time.sleep(0.2)
    raise AssertionError(f'no segment for {endpoint}')


def test_the_handshake_is_an_exit_span_that_sends_sw8(services, collector, plugin_python, client):
    provider_port, consumer_port = start(services, plugin_python, client)

    sw8 = call(consumer_port, '/chat')

    text = (HERE / 'expected.yml').read_text()
    ok, reason = collector.validate(
        text.replace('PROVIDER_PORT', str(provider_port)).replace('CONSUMER_PORT', str(consumer_port))
    )
    assert ok, f'{reason}\n{services.logs()}'
    # The provider received the exit span's sw8 in the handshake request.
    caller = decode_sw8(sw8)
    assert isinstance(caller, tuple), sw8
    [exit_span] = [s for s in consumer_spans(collector, '/chat') if s['spanType'] == 'Exit']
    assert caller[2] == exit_span['spanId']
    assert caller[3] == 'consumer'
    assert caller[6] == f'127.0.0.1:{provider_port}'


def test_a_rejected_handshake_is_an_error_span(services, collector, plugin_python, client):
    _, consumer_port = start(services, plugin_python, client)

    outcome = call(consumer_port, '/forbidden')

    assert outcome.startswith('websockets.'), outcome  # InvalidStatusCode / InvalidStatus, unchanged
    [exit_span] = [s for s in consumer_spans(collector, '/forbidden') if s['spanType'] == 'Exit']
    assert exit_span['isError'] is True
    assert {t['key']: t['value'] for t in exit_span['tags']}['http.status_msg'] == 'invalid handshake'
