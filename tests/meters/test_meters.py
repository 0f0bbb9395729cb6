"""Meters end to end: the application's counters, gauge and histogram, the `instance_pvm_*`
meters and the agent's own counters reach the local collector every
`agent_meter_reporter_period`, over gRPC and Kafka, as SkyWalking's expected `meterItems`;
over HTTP (no meter endpoint, as upstream) the agent warns and sends none."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, http_get

APP = Path(__file__).parent / 'services' / 'meter_app.py'


def meter(name: str, value: str, tags=()) -> dict:
    return {'meterId': {'name': name, 'tags': [{'name': k, 'value': v} for k, v in tags]}, 'singleValue': value}


EXPECTED = {
    'meterItems': [
        {
            'serviceName': 'metersvc',
            'meterSize': 'ge 30',
            'meters': [
                meter('requests_total', '3.0', [('app', 'demo'), ('z', 'last')]),
                # RATE: what was added in the period (all three requests fall in one or two periods).
                meter('requests_rate', 'ge 0'),
                meter('work_seconds', 'gt 0.03'),
                meter('queue_depth', '42.0'),
                {'meterId': {'name': 'latency_ms', 'tags': []}, 'histogramBuckets': [0.0, 1.0, 5.0, 10.0]},
                meter('instance_pvm_total_cpu_utilization', 'ge 0'),
                meter('instance_pvm_process_cpu_utilization', 'ge 0'),
                meter('instance_pvm_total_mem_utilization', 'gt 0'),
                meter('instance_pvm_process_mem_utilization', 'gt 0'),
                meter('instance_pvm_thread_active_count', 'ge 1'),
                meter('instance_pvm_gc_g0', 'ge 0'),
                meter('instance_pvm_gc_g1', 'ge 0'),
                meter('instance_pvm_gc_g2', 'ge 0'),
                meter('instance_pvm_gc_time', 'ge 0'),
                meter('skywalking_agent_segments_sent', 'ge 1'),
                meter('skywalking_agent_logs_dropped_queue_full', '0.0'),
            ],
        }
    ]
}


@pytest.mark.parametrize('protocol', ['grpc', 'kafka'])
def test_meters_arrive_as_expected(services, collector, request, protocol):
    port = free_port()
    env = {'SW_AGENT_PROTOCOL': protocol, 'SW_AGENT_METER_REPORTER_PERIOD': '1'}
    if protocol == 'kafka':
        env['SW_KAFKA_BOOTSTRAP_SERVERS'] = request.getfixturevalue('kafka_broker').address
    services.start('metersvc', APP, port, **env)
    for _ in range(3):
        assert http_get(f'http://127.0.0.1:{port}/work') == (200, b'done')

    ok, reason = collector.validate(yaml.safe_dump(EXPECTED, sort_keys=False), timeout=30)

    assert ok, f'{reason}\n{services.logs()}'


def test_http_reports_no_meters_and_says_so(services, collector):
    port = free_port()
    services.start(
        'metersvc',
        APP,
        port,
        SW_AGENT_PROTOCOL='http',
        SW_AGENT_COLLECTOR_BACKEND_SERVICES=f'127.0.0.1:{collector.http_port}',
        SW_AGENT_METER_REPORTER_PERIOD='1',
    )
    assert http_get(f'http://127.0.0.1:{port}/work') == (200, b'done')
    ok, reason = collector.validate(yaml.safe_dump({'segmentItems': [{'serviceName': 'metersvc', 'segmentSize': '1'}]}))
    assert ok, reason
    assert 'supports neither the meter reporter nor the profiler' in services.logs()
    assert 'metersvc' not in collector.receive_data().split('logItems')[0].split('meterItems')[1]
