"""Trace profiling end to end: a task created at the local collector reaches the app
under `sw-python run`, slow requests of the task's endpoint are sampled, and the
snapshots and the task's finish report arrive at the collector."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
PROFILE_ENV = {
    'SW_AGENT_PROFILE_ACTIVE': 'True',
    'SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL': '1',
}


def create_task(collector, service: str, endpoint: str, ends_in_s: float, **spec) -> dict:
    """A task whose one-minute window (the shortest upstream allows) ends in `ends_in_s`."""
    start = int(time.time() * 1000 - (60 - ends_in_s) * 1000)
    body = {
        'service': service,
        'endpointName': endpoint,
        'startTime': start,
        'duration': 1,
        'minDurationThreshold': spec.get('threshold', 200),
        'dumpPeriod': spec.get('dump_period', 50),
        'maxSamplingCount': spec.get('max_sampling', 5),
    }
    status, text = collector.request('POST', '/api/profile/tasks', json.dumps(body).encode())
    assert status == 200, text
    return json.loads(text)


def task_view(collector, task_id: str) -> dict:
    status, text = collector.request('GET', '/api/profile/tasks')
    assert status == 200
    return next(t for t in json.loads(text) if t['id'] == task_id)


def wait_for(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def signatures(collector, task_id: str, segment_id: str | None = None) -> list[str]:
    query = f'/api/profile/analysis?taskId={task_id}' + (f'&segmentId={segment_id}' if segment_id else '')
    status, text = collector.request('GET', query)
    assert status == 200, text
    found = []

    def walk(node):
        found.append(node['codeSignature'])
        for child in node['children']:
            walk(child)

    for tree in json.loads(text)['trees']:
        walk(tree)
    return found


def profile(services, collector, name: str, script: str, endpoint: str, calls: list[str], ends_in_s: float = 12):
    task = create_task(collector, name, endpoint, ends_in_s)
    port = free_port()
    services.start(name, HERE / 'services' / script, port, **PROFILE_ENV)
    time.sleep(2.5)  # two polls: the task has reached the agent
    threads = [threading.Thread(target=http_get, args=(f'http://127.0.0.1:{port}{path}',)) for path in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return task


def check_task(collector, services, task: dict, distinctive: str, max_segments: int = 5) -> dict:
    view = wait_for(lambda: (v := task_view(collector, task['id']))['snapshotCount'] > 0 and v, 15)
    assert view, f'no snapshots arrived\n{services.logs()}'
    assert 1 <= len(view['segmentIds']) <= max_segments
    assert any(distinctive in s for s in signatures(collector, task['id'])), signatures(collector, task['id'])
    return view


def test_threaded_wsgi_app(services, collector):
    task = profile(services, collector, 'profiled-threads', 'threaded_app.py', '/slow', ['/slow', '/fast', '/slow'])
    view = check_task(collector, services, task, 'threaded_app.py.distinctive_cpu_burn: ')
    # Only the slow endpoint's segments were profiled; the fast one finished under the threshold.
    assert len(view['segmentIds']) == 2
    finished = wait_for(lambda: task_view(collector, task['id'])['finishes'], 20)
    assert finished and finished[0]['serviceInstance'] == 'profiled-threads-instance'


@pytest.mark.parametrize(
    'endpoint, distinctive', [('/burn', 'distinctive_greenlet_burn'), ('/wait', 'distinctive_greenlet_wait')]
)
def test_gevent_app(services, collector, endpoint, distinctive):
    task = profile(
        services, collector, f'profiled-gevent{endpoint.replace("/", "-")}', 'gevent_app.py', endpoint, [endpoint]
    )
    check_task(collector, services, task, distinctive)


def test_asyncio_app(services, collector):
    task = profile(services, collector, 'profiled-asyncio', 'asyncio_app.py', '/slow', ['/slow'] + ['/fast'] * 5)
    view = check_task(collector, services, task, 'distinctive_coroutine_wait')
    assert len(view['segmentIds']) == 1
    # The task's own coroutine chain, not the event loop's stack.
    stack = signatures(collector, task['id'])
    assert not any('base_events.py.run_forever' in s for s in stack), stack
