"""The scenario every HTTP client plugin runs (`tests/plugins/<library>/`): a consumer under
`sw-python run` calls a provider under `sw-python run` over loopback with one client.

* ``/users``: one trace across both services, exactly one exit span for the call (even where
  the client runs over other traced clients, e.g. requests over urllib3 over http.client),
  checked against `expected.yml` through the collector's ``/dataValidate``;
* ``/missing`` (HTTP 404), ``/refused`` (nothing listens), ``/timeout``: one exit span each,
  an error span, and the application sees the same outcome (status, or exception class) as
  without the agent.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
SERVICES = HERE / 'services'


def start(services, plugin_python: str, client: str, **extra: str) -> tuple[int, int]:
    provider_port, consumer_port, closed_port = free_port(), free_port(), free_port()
    services.start('provider', SERVICES / 'provider.py', provider_port, python=plugin_python)
    services.start(
        'consumer',
        SERVICES / 'consumer.py',
        consumer_port,
        python=plugin_python,
        CLIENT=client,
        PROVIDER_PORT=str(provider_port),
        CLOSED_PORT=str(closed_port),
        **extra,
    )
    return provider_port, consumer_port


def call(consumer_port: int, case: str) -> str:
    status, body = http_get(f'http://127.0.0.1:{consumer_port}/{case}')
    assert status == 200, body
    return body.decode()


def expected(component: int, provider_port: int, consumer_port: int) -> str:
    text = (HERE / 'expected.yml').read_text()
    return (
        text.replace('COMPONENT', str(component))
        .replace('PROVIDER_PORT', str(provider_port))
        .replace('CONSUMER_PORT', str(consumer_port))
    )


def consumer_segment(collector, endpoint: str, timeout: float = 20.0) -> list[dict]:
    """The spans of the consumer's segment for `endpoint` (waits for it to arrive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = yaml.safe_load(collector.receive_data()) or {}
        for item in data.get('segmentItems') or []:
            if item['serviceName'] != 'consumer':
                continue
            for segment in item['segments']:
                spans = segment['spans']
                if any(s['spanType'] == 'Entry' and s['operationName'] == endpoint for s in spans):
                    return spans
        time.sleep(0.2)
    raise AssertionError(f'no consumer segment for {endpoint}: {collector.receive_data()}')


def tags(span: dict) -> dict[str, str]:
    return {t['key']: t['value'] for t in span.get('tags') or []}


def run(services, collector, plugin_python: str, client: str, component: int, errors: dict[str, str]) -> None:
    """The whole scenario; `errors` maps ``refused`` and ``timeout`` to the exception class
    (module-qualified) the client raises without an agent."""
    provider_port, consumer_port = start(services, plugin_python, client)

    outcome = call(consumer_port, 'users')
    assert outcome == '200', f'{outcome}\n{services.logs()}'
    ok, reason = collector.validate(expected(component, provider_port, consumer_port))
    assert ok, f'{reason}\n{services.logs()}'

    outcome = call(consumer_port, 'missing')
    assert outcome == '404', f'{outcome}\n{services.logs()}'
    [exit_span] = [s for s in consumer_segment(collector, '/missing') if s['spanType'] == 'Exit']
    assert exit_span['isError'] is True
    assert exit_span['componentId'] == component
    assert tags(exit_span)['http.status_code'] == '404'

    for case in ('refused', 'timeout'):
        assert call(consumer_port, case) == errors[case], services.logs()
        [exit_span] = [s for s in consumer_segment(collector, f'/{case}') if s['spanType'] == 'Exit']
        assert exit_span['isError'] is True, exit_span
        assert exit_span['componentId'] == component
        assert 'http.status_code' not in tags(exit_span)
        assert any(kv['key'] == 'Traceback' for log in exit_span.get('logs') or [] for kv in log['logEvent'])
