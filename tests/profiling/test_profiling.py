"""Trace profiling end to end: a task created at the local collector reaches the app
under `sw-python run`, slow requests of the task's endpoint are sampled, and the
snapshots and the task's finish report arrive at the collector."""

from __future__ import annotations

import itertools
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
    services.wait_for_log(name, f'profile task {task["id"]} started')
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
    for segment_id in view['segmentIds']:
        taken = snapshots(collector, task['id'], segment_id)
        assert sorted(s['sequence'] for s in taken) == list(range(len(taken))), 'sequences 0, 1, 2, ... per segment'
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


def snapshots(collector, task_id: str, segment_id: str | None = None) -> list[dict]:
    query = f'/api/profile/snapshots?taskId={task_id}' + (f'&segmentId={segment_id}' if segment_id else '')
    status, text = collector.request('GET', query)
    assert status == 200, text
    return json.loads(text)


def settled_count(collector, task_id: str, timeout: float = 15) -> int:
    """The task's snapshot count once it has stopped growing for a second."""
    deadline = time.monotonic() + timeout
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = task_view(collector, task_id)['snapshotCount']
        if count != last:
            last, stable_since = count, time.monotonic()
        elif count > 0 and time.monotonic() - stable_since >= 1.0:
            break
        time.sleep(0.2)
    return last


def test_gevent_switches_are_snapshotted_between_timed_samples(services, collector):
    """Greenlet mode: each switch of the profiled greenlet is a snapshot of that greenlet,
    so a 10 s dump period (at most one timed sample per request) still yields one snapshot
    per switch; an unprofiled greenlet switching alongside yields none, and the app's own
    greenlet trace function keeps being called and is put back afterwards."""
    name = 'profiled-gevent-switch'
    task = create_task(collector, name, '/switch', ends_in_s=12, threshold=100, dump_period=10_000)
    port = free_port()
    services.start(name, HERE / 'services' / 'gevent_app.py', port, APP_TRACER='1', **PROFILE_ENV)
    services.wait_for_log(name, f'profile task {task["id"]} started')
    base = f'http://127.0.0.1:{port}'
    status, body = http_get(f'{base}/tracer')
    assert status == 200
    before = json.loads(body)
    assert before['app_tracer_installed'], before

    answers = {}

    def call(path):
        answers[path] = http_get(base + path)

    threads = [threading.Thread(target=call, args=(path,)) for path in ('/switch', '/idle')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers['/switch'] == (200, b'GreenletSwitchTracer'), answers
    assert answers['/idle'][0] == 200

    count = settled_count(collector, task['id'])
    view = task_view(collector, task['id'])
    assert len(view['segmentIds']) == 1, f'only /switch is profiled: {view}\n{services.logs()}'
    taken = snapshots(collector, task['id'], view['segmentIds'][0])
    assert len(taken) == count
    # ~100 sleeps of 10 ms, two switches each, after the first 100 ms; the timed sampler
    # could have sent one at most.
    assert count >= 50, f'{count} snapshots\n{services.logs()}'
    assert sorted(s['sequence'] for s in taken) == list(range(count)), [s['sequence'] for s in taken]
    times = sorted(s['time'] for s in taken)
    assert max(b - a for a, b in itertools.pairwise(times)) < 2_000, 'snapshots follow the switches, not the period'
    with_switch = [s for s in taken if any('gevent_app.py.distinctive_greenlet_switch: ' in f for f in s['stack'])]
    assert len(with_switch) >= 0.9 * count, [s['stack'] for s in taken if s not in with_switch]
    # Whose stack: the profiled greenlet's, on switches out of it as on switches into it.
    assert not any('distinctive_idle_switch' in f for s in taken for f in s['stack'])
    assert any('distinctive_greenlet_switch' in s for s in signatures(collector, task['id']))

    status, body = http_get(f'{base}/tracer')
    after = json.loads(body)
    assert after['app_tracer_installed'], 'the previous greenlet trace function is back'
    assert after['switches'] - before['switches'] >= 2 * count, (before, after, count)


def test_a_forked_child_drops_the_parents_switch_hooks(services, collector):
    """A fork while a greenlet's switches are hooked: in the child, which has a new
    profiler, the app's own greenlet trace function is back in place."""
    name = 'profiled-gevent-fork'
    task = create_task(collector, name, '/switch', ends_in_s=12, threshold=100, dump_period=10_000)
    port = free_port()
    services.start(name, HERE / 'services' / 'gevent_app.py', port, APP_TRACER='1', **PROFILE_ENV)
    services.wait_for_log(name, f'profile task {task["id"]} started')
    status, body = http_get(f'http://127.0.0.1:{port}/switch?fork=1')
    assert status == 200, body
    assert json.loads(body) == {'hooked': 'GreenletSwitchTracer', 'child_exit': 0}, services.logs()
