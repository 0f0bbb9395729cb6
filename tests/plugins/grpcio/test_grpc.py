"""gRPC (sw_grpc): a consumer (http.server) calls a real grpc.server / grpc.aio.server
provider over loopback with a sync / grpc.aio channel; both under `sw-python run`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
MODES = ['sync', 'aio']


def start(services, plugin_python: str, mode: str, **extra: str) -> tuple[int, int]:
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', HERE / 'services' / 'provider.py', provider_port, python=plugin_python, MODE=mode,
                   **extra)  # fmt: skip
    services.start(
        'consumer',
        HERE / 'services' / 'consumer.py',
        consumer_port,
        python=plugin_python,
        MODE=mode,
        PROVIDER_PORT=str(provider_port),
        **extra,
    )
    return provider_port, consumer_port


def call(port: int, method: str) -> str:
    status, body = http_get(f'http://127.0.0.1:{port}/{method}')
    assert status == 200, body
    return body.decode()


def segments(collector, service: str, method: str, timeout: float = 20.0) -> list[list[dict]]:
    """The segments of `service` with a span named `method` (waits for one to arrive)."""
    deadline = time.monotonic() + timeout
    while True:
        data = yaml.safe_load(collector.receive_data()) or {}
        found = [
            segment['spans']
            for item in data.get('segmentItems') or []
            if item['serviceName'] == service
            for segment in item['segments']
            if any(s['operationName'] == method for s in segment['spans'])
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def tags(span: dict) -> dict[str, str]:
    return {t['key']: t['value'] for t in span.get('tags') or []}


@pytest.mark.parametrize('mode', MODES)
def test_a_unary_call_is_one_trace_across_both_services(services, collector, plugin_python, mode):
    provider_port, consumer_port = start(services, plugin_python, mode)

    assert call(consumer_port, 'Hello') == 'hello you'

    text = (HERE / 'expected.yml').read_text()
    text = text.replace('PROVIDER_PORT', str(provider_port)).replace('CONSUMER_PORT', str(consumer_port))
    ok, reason = collector.validate(text)
    assert ok, f'{reason}\n{services.logs()}'


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize(('method', 'result'), [('Split', 'a|b|c'), ('Join', 'abc'), ('Echo', 'a|b')])
def test_streaming_calls_carry_the_trace(services, collector, plugin_python, mode, method, result):
    _, consumer_port = start(services, plugin_python, mode)

    assert call(consumer_port, method) == result

    op = f'/test.Greeter/{method}'
    [consumer] = segments(collector, 'consumer', op)
    [exit_span] = [s for s in consumer if s['spanType'] == 'Exit']
    assert exit_span['operationName'] == op and exit_span['componentId'] == 23
    assert exit_span['isError'] is False
    [provider] = segments(collector, 'provider', op)
    [entry] = provider
    assert entry['spanType'] == 'Entry' and entry['spanLayer'] == 'RPCFramework'
    assert entry['isError'] is False
    [ref] = entry['refs']
    assert ref['parentSpanId'] == exit_span['spanId']
    assert ref['parentService'] == 'consumer'


CALL_STYLES = [
    ('sync', 'HelloFuture', 'Hello', 'hello you'),
    ('sync', 'HelloWithCall', 'Hello', 'hello you'),
    ('sync', 'JoinFuture', 'Join', 'abc'),
    ('aio', 'JoinWrite', 'Join', 'abc'),
    ('aio', 'EchoWrite', 'Echo', 'a|b'),
    ('aio', 'SplitWrite', 'SplitWrite', 'a|b|c'),
]


@pytest.mark.parametrize(('mode', 'way', 'method', 'result'), CALL_STYLES)
def test_other_call_styles_carry_the_trace(services, collector, plugin_python, mode, way, method, result):
    """``future()`` / ``with_call()`` on a sync channel; grpc.aio calls whose requests are
    written with ``call.write()`` and ``done_writing()``; a grpc.aio server answering through
    ``context.write()``: one exit span, and the provider's entry span refs it."""
    provider_port, consumer_port = start(services, plugin_python, mode)

    assert call(consumer_port, way) == result

    op = f'/test.Greeter/{method}'
    [consumer] = segments(collector, 'consumer', op)
    exits = [s for s in consumer if s['spanType'] == 'Exit']
    assert [(s['operationName'], s['componentId'], s['isError']) for s in exits] == [(op, 23, False)]
    assert tags(exits[0]) == {'grpc.method': op, 'grpc.url': f'127.0.0.1:{provider_port}'}
    [[entry]] = segments(collector, 'provider', op)
    assert entry['spanType'] == 'Entry' and entry['isError'] is False
    [ref] = entry['refs']
    assert ref['parentSpanId'] == exits[0]['spanId']
    assert ref['parentEndpoint'] == f'/{way}'


def test_a_failed_future_reaches_the_application_and_the_provider_records_it(services, collector, plugin_python):
    _, consumer_port = start(services, plugin_python, 'sync')

    assert call(consumer_port, 'FailFuture') == 'StatusCode.NOT_FOUND'

    op = '/test.Greeter/Fail'
    [consumer] = segments(collector, 'consumer', op)
    assert [s['operationName'] for s in consumer if s['spanType'] == 'Exit'] == [op]
    [[entry]] = segments(collector, 'provider', op)
    assert entry['isError'] is True
    assert tags(entry)['grpc.status_code'] == 'StatusCode.NOT_FOUND'
    assert entry['refs'][0]['parentEndpoint'] == '/FailFuture'


@pytest.mark.parametrize('mode', MODES)
def test_a_failed_call_is_an_error_on_both_sides_with_its_status(services, collector, plugin_python, mode):
    _, consumer_port = start(services, plugin_python, mode)

    # The application gets the RpcError it would get without the agent.
    assert call(consumer_port, 'Fail') == 'StatusCode.NOT_FOUND'

    op = '/test.Greeter/Fail'
    [consumer] = segments(collector, 'consumer', op)
    [exit_span] = [s for s in consumer if s['spanType'] == 'Exit']
    assert exit_span['isError'] is True
    assert list(tags(exit_span)) == ['grpc.method', 'grpc.url', 'grpc.status_code']
    assert tags(exit_span)['grpc.status_code'] == 'StatusCode.NOT_FOUND'
    [[entry]] = segments(collector, 'provider', op)
    assert entry['isError'] is True
    assert tags(entry) == {'grpc.method': op, 'grpc.status_code': 'StatusCode.NOT_FOUND'}


@pytest.mark.parametrize('mode', MODES)
def test_ignored_methods_are_not_traced(services, collector, plugin_python, mode):
    _, consumer_port = start(services, plugin_python, mode, SW_PLUGIN_GRPC_IGNORED_METHODS='/test.Greeter/Hello')

    assert call(consumer_port, 'Hello') == 'hello you'
    assert call(consumer_port, 'Join') == 'abc'

    assert segments(collector, 'provider', '/test.Greeter/Join')
    assert segments(collector, 'provider', '/test.Greeter/Hello', timeout=1) == []
    [consumer] = segments(collector, 'consumer', '/Hello')
    assert [s['spanType'] for s in consumer] == ['Entry']


@pytest.mark.parametrize('mode', MODES)
def test_channels_to_the_agents_own_backend_are_not_traced(services, collector, plugin_python, mode):
    _, consumer_port = start(services, plugin_python, mode)

    assert call(consumer_port, 'Collector') == 'StatusCode.UNIMPLEMENTED'
    assert call(consumer_port, 'Hello') == 'hello you'

    [consumer] = segments(collector, 'consumer', '/Collector')
    assert [s['spanType'] for s in consumer] == ['Entry']
    [consumer] = segments(collector, 'consumer', '/Hello')
    assert [s['spanType'] for s in consumer] == ['Exit', 'Entry']
