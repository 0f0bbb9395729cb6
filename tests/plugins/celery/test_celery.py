"""The Celery plugin against the real brokers of this machine (Redis 6379, RabbitMQ 5672): an
HTTP producer sends tasks, a worker under `sw-python run celery -A tasks worker` runs them,
with the default gRPC protocol, under the prefork (default), threads and solo pools, with
every plugin on (redis, amqp: Celery's own broker traffic must not show). Each test uses a
queue of its own (``mq_celery_<random>``) on the shared brokers."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, http_get
from tests.plugins import scenario
from tests.plugins.scenario import expected_file

HERE = Path(__file__).parent
SERVICES = HERE / 'services'

BROKERS = {
    'redis': ('redis://127.0.0.1:6379/0', 'redis://127.0.0.1:6379/0', '127.0.0.1:6379'),
    # The tag leaves the credentials out (upstream sends the URL as configured).
    'rabbitmq': ('amqp://guest:guest@127.0.0.1:5672//', 'amqp://127.0.0.1:5672//', '127.0.0.1:5672'),
}


def start(services, plugin_python: str, broker: str, pool: str, **extra: str) -> dict[str, str]:
    url, tag, peer = BROKERS[broker]
    queue = f'mq_celery_{uuid.uuid4().hex[:12]}'
    # Every plugin on (redis, amqp): Celery's own broker traffic (polling, acks, the unacked
    # bookkeeping, heartbeats, gossip and task events, all enabled here) must not show up.
    env = {'BROKER_URL': url, 'QUEUE': queue, **extra}
    celery = str(Path(plugin_python).parent / 'celery')
    worker_port = free_port()
    command = [plugin_python, '-m', 'sw_python', 'run', celery, '-A', 'tasks', 'worker', '--pool', pool]
    command += ['--concurrency', '2', '-Q', queue, '--loglevel', 'INFO', '--task-events', '--without-mingle']
    services.start_command('worker', command, worker_port, cwd=SERVICES, **env)
    producer_port, down_port = free_port(), free_port()
    services.start(
        'producer', SERVICES / 'producer.py', producer_port, python=plugin_python, DOWN_PORT=str(down_port), **env
    )
    return {
        'QUEUE': queue,
        'BROKER_TAG': tag,
        'BROKER_PEER': peer,
        'PRODUCER_PORT': str(producer_port),
        'DOWN_PORT': str(down_port),
    }


def expected(name: str, values: dict[str, str]) -> str:
    return expected_file(HERE, name, values)


# celery.parameters as sent, and as the worker sees them (the same: a tuple and a dict).
SENT = {
    'delay': '*(1, 2), **{}',
    'apply_async': '*(3, 4), **{}',
    'send_task': "*(5,), **{'y': 6}",
}


def check(collector, services, name: str, values: dict[str, str]) -> None:
    scenario.check(collector, services, expected(name, values), timeout=40)


@pytest.mark.parametrize(
    ('broker', 'pool'), [('redis', 'prefork'), ('rabbitmq', 'prefork'), ('redis', 'threads'), ('redis', 'solo')]
)
@pytest.mark.parametrize('operation', ['delay', 'apply_async', 'send_task'])
def test_a_sent_task_continues_the_trace_in_the_worker(services, collector, plugin_python, broker, pool, operation):
    if operation != 'delay' and (broker, pool) != ('redis', 'solo'):
        pytest.skip('each way of sending is checked once (redis, solo); delay everywhere')
    values = start(services, plugin_python, broker, pool)
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/{operation}')[0] == 200
    parameters = SENT[operation].replace("'", "''")  # in single-quoted YAML
    values.update(OPERATION=operation, SENT_PARAMETERS=parameters, RECEIVED_PARAMETERS=parameters)
    check(collector, services, 'task.yml', values)


@pytest.mark.parametrize(('broker', 'pool'), [('redis', 'solo'), ('rabbitmq', 'solo'), ('redis', 'prefork')])
def test_only_the_tasks_own_calls_are_traced_in_the_worker(services, collector, plugin_python, broker, pool):
    values = start(services, plugin_python, broker, pool)
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/store')[0] == 200
    check(collector, services, 'store.yml', values)
    # The worker's periodic traffic (heartbeats, gossip, the broker polling) went on meanwhile
    # and goes on: two more heartbeats later, still nothing but the task's segment.
    seen = services.log_of('worker').count('heartbeat sent')
    services.wait_for_log('worker', 'heartbeat sent', count=seen + 2)
    check(collector, services, 'store.yml', values)


def test_a_task_without_origin_runs_in_a_local_span_in_the_worker(services, collector, plugin_python):
    # Task protocol 1 sends no origin (nor the headers upstream reads): no trace to continue.
    values = start(services, plugin_python, 'redis', 'solo', TASK_PROTOCOL='1')
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/delay')[0] == 200
    parameters = SENT['delay'].replace("'", "''")
    values.update(OPERATION='delay', SENT_PARAMETERS=parameters, RECEIVED_PARAMETERS=parameters)
    check(collector, services, 'local.yml', values)


def segment_instances(collector, service: str, operation: str) -> set[str]:
    """The instances of `service` that reported a segment whose entry span is `operation`."""
    status, text = collector.request('GET', f'/api/traces?service={service}&limit=1000')
    assert status == 200, text
    found = set()
    for trace in json.loads(text):
        status, text = collector.request('GET', f'/api/traces/{trace["traceId"]}')
        for segment in json.loads(text)['segments']:
            if segment['service'] == service and segment['spans'][-1]['operationName'] == operation:
                found.add(segment['serviceInstance'])
    return found


@pytest.mark.parametrize('broker', ['redis', 'rabbitmq'])
def test_a_task_that_raises_is_an_error_span_in_the_worker(services, collector, plugin_python, broker):
    values = start(services, plugin_python, broker, 'prefork')
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/fail')[0] == 200
    check(collector, services, 'fail.yml', values)
    # The task ran in a forked pool process, which reported as an instance of its own.
    [instance] = segment_instances(collector, 'worker', 'celery/mq.fail')
    assert instance.startswith('worker-instance-child('), instance
    # Celery itself saw the exception, unchanged.
    services.wait_for_log('worker', 'ValueError: the task failed on purpose')


def test_a_broker_that_is_down_gives_an_error_exit_span(services, collector, plugin_python):
    values = start(services, plugin_python, 'redis', 'solo')
    assert http_get(f'http://127.0.0.1:{values["PRODUCER_PORT"]}/down')[0] == 503
    check(collector, services, 'down.yml', values)


def test_parameters_are_cut_to_the_configured_length_or_left_out(services, collector, plugin_python):
    # The producer alone: nothing needs to consume for the sender's span.
    url, _tag, _peer = BROKERS['redis']
    env = {
        'BROKER_URL': url,
        'QUEUE': f'mq_celery_{uuid.uuid4().hex[:12]}',
        'DOWN_PORT': '1',
    }
    for name, length in (('producer', '5'), ('producer0', '0')):
        port = free_port()
        script = SERVICES / 'producer.py'
        services.start(name, script, port, python=plugin_python, SW_PLUGIN_CELERY_PARAMETERS_LENGTH=length, **env)
        assert http_get(f'http://127.0.0.1:{port}/delay')[0] == 200
    deadline = time.monotonic() + 30
    tags: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline:
        tags = {}
        data = yaml.safe_load(collector.receive_data())
        for item in data.get('segmentItems') or []:
            for segment in item['segments']:
                for span in segment['spans']:
                    if span['operationName'] == 'celery/mq.add':
                        tags[item['serviceName']] = {t['key']: t['value'] for t in span.get('tags') or []}
        if len(tags) == 2:
            break
        time.sleep(0.3)
    assert tags == {
        'producer': {'mq.broker': url, 'celery.parameters': '*(1, '},
        'producer0': {'mq.broker': url},
    }
