"""The log reporter end to end: a service under `sw-python run` logs inside and outside a
span, with an exception, through a filtering logger and through loguru; the local collector
must receive exactly the expected `logItems` (SkyWalking's expected-data format), over gRPC,
HTTP and Kafka (through the tests' protocol-level broker, tests/kafka_broker.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
APP = HERE / 'services' / 'log_app.py'
CASES = ['/inside', '/outside', '/error', '/filtered', '/loguru']


def entry(endpoint: str, text: str, level: str, logger: str, extra_tags=(), traced: bool = True) -> dict:
    log = {
        'timestamp': 'gt 0',
        'endpoint': endpoint,
        'body': {'type': 'text', 'content': {'text': text}},
        'tags': {
            'data': [
                {'key': 'level', 'value': level},
                {'key': 'logger', 'value': logger},
                {'key': 'thread', 'value': 'not blank'},
                *({'key': k, 'value': v} for k, v in extra_tags),
            ]
        },
    }
    if traced:
        log['traceContext'] = {'traceId': 'not blank', 'traceSegmentId': 'not blank', 'spanId': 0}
    else:
        log['traceContext'] = {'traceId': 'null', 'traceSegmentId': 'null'}
    return log


def expected_formatted() -> list[dict]:
    """Layout `%(levelname)s %(name)s - %(message)s`, filters honoured, safe mode on,
    tracebacks cut to depth 0 (the exception line only)."""
    return [
        entry('/inside', 'WARNING app - inside span 1', 'WARNING', 'app'),
        entry('/outside', 'WARNING app - outside a span', 'WARNING', 'app', traced=False).__or__({'endpoint': ''}),
        entry(
            '/error',
            'ERROR app - failed calling https://example.com/api\nValueError: cannot reach https://example.com/db',
            'ERROR',
            'app',
        ),
        entry('/loguru', 'from loguru ok', 'ERROR', 'loguru'),
    ]


def expected_raw() -> list[dict]:
    """`agent_log_reporter_formatted=False`: the raw message with `argument.N` tags and an
    `exception` tag; filters ignored; safe mode off."""
    return [
        entry('/inside', 'inside %s %d', 'WARNING', 'app', [('argument.0', 'span'), ('argument.1', '1')]),
        entry('/outside', 'outside a span', 'WARNING', 'app', traced=False).__or__({'endpoint': ''}),
        entry(
            '/error',
            'failed calling %s',
            'ERROR',
            'app',
            [
                ('argument.0', 'https://admin:hunter2@example.com/api'),
                ('exception', 'ValueError: cannot reach https://user:secret@example.com/db'),
            ],
        ),
        entry('/filtered', 'rejected by the filter', 'ERROR', 'app.filtered'),
        entry('/loguru', 'from loguru ok', 'ERROR', 'loguru'),
    ]


SETTINGS = {
    'formatted': (
        {
            'SW_AGENT_LOG_REPORTER_LAYOUT': '%(levelname)s %(name)s - %(message)s',
            'SW_AGENT_LOG_REPORTER_SAFE_MODE': 'True',
        },
        expected_formatted,
    ),
    'raw': (
        {
            'SW_AGENT_LOG_REPORTER_FORMATTED': 'False',
            'SW_AGENT_LOG_REPORTER_IGNORE_FILTER': 'True',
        },
        expected_raw,
    ),
}


@pytest.fixture
def one_partition_broker(collector):
    """Kafka keeps order only within a partition, and log records are keyed by segment id:
    with one partition the records reach the collector in the order they were logged."""
    from tests.kafka_broker import KafkaTestBroker

    broker = KafkaTestBroker(collector.grpc_address, partitions=1).start()
    try:
        yield broker
    finally:
        broker.stop()


def reporting_env(protocol: str, collector, request) -> dict[str, str]:
    backend = collector.grpc_address if protocol == 'grpc' else f'127.0.0.1:{collector.http_port}'
    env = {'SW_AGENT_PROTOCOL': protocol, 'SW_AGENT_COLLECTOR_BACKEND_SERVICES': backend}
    if protocol == 'kafka':
        env['SW_KAFKA_BOOTSTRAP_SERVERS'] = request.getfixturevalue('one_partition_broker').address
    return env


@pytest.mark.parametrize('protocol', ['grpc', 'http', 'kafka'])
@pytest.mark.parametrize('setting', ['formatted', 'raw'])
def test_logs_arrive_as_expected(services, collector, request, protocol, setting):
    env, expected = SETTINGS[setting]
    port = free_port()
    services.start(
        'logsvc',
        APP,
        port,
        SW_AGENT_CAUSE_EXCEPTION_DEPTH='0',
        SW_AGENT_METER_REPORTER_ACTIVE='False',
        **env,
        **reporting_env(protocol, collector, request),
    )
    for case in CASES:
        status, _ = http_get(f'http://127.0.0.1:{port}{case}')
        assert status == 200, case
    logs = expected()
    document = {'logItems': [{'serviceName': 'logsvc', 'logSize': len(logs), 'logs': logs}]}

    ok, reason = collector.validate(yaml.safe_dump(document, sort_keys=False))

    assert ok, f'{reason}\n{services.logs()}'


def test_trace_ids_in_the_applications_own_lines(services, collector):
    """`%(tid)s` in the application's own format: the trace id inside a request's span,
    `N/A` outside one; the line is printed by the application's handler, before reporting."""
    port = free_port()
    services.start('logsvc', APP, port)
    for case in ['/inside', '/outside']:
        assert http_get(f'http://127.0.0.1:{port}{case}')[0] == 200
    ok, reason = collector.validate(
        yaml.safe_dump({'segmentItems': [{'serviceName': 'logsvc', 'segmentSize': 'ge 2'}]}, sort_keys=False)
    )
    assert ok, reason
    trace_ids = [
        line.split('traceId:')[1].strip().strip("'")
        for line in collector.receive_data().splitlines()
        if line.strip().startswith('traceId:') and line.split('traceId:')[1].strip().strip("'")
    ]
    lines = services.logs().splitlines()
    inside = next(line for line in lines if line.endswith('inside span 1'))
    outside = next(line for line in lines if line.endswith('outside a span'))
    assert inside.startswith('WARNING app [') and inside.split('[')[1].split(']')[0] in trace_ids, (inside, trace_ids)
    assert outside == 'WARNING app [N/A] outside a span'
