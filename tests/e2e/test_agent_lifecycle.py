"""Agent behaviour seen from a whole process: exit flush, sampling, a dead backend."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import yaml

from tests.conftest import free_port


def run_script(services, name: str, code: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """Runs `code` under `sw-python run python -c` as service `name`."""
    command = [sys.executable, '-m', 'sw_python', 'run', sys.executable, '-c', textwrap.dedent(code)]
    return subprocess.run(
        command, env=services.env(name, **env), capture_output=True, text=True, timeout=timeout, check=False
    )


def segments_of(collector, service: str) -> list[dict]:
    data = yaml.safe_load(collector.receive_data())
    for item in data.get('segmentItems') or []:
        if item['serviceName'] == service:
            return item['segments']
    return []


def test_segments_finished_just_before_exit_are_delivered(services, collector):
    result = run_script(
        services,
        'short-lived',
        """
        from skywalking.trace.context import get_context
        for i in range(8000):
            with get_context().new_local_span('job'):
                pass
        """,
    )
    assert result.returncode == 0, result.stderr
    # A backlog at exit, no sleep: the atexit flush delivered all of it before the process ended.
    data = yaml.safe_load(collector.receive_data())
    sizes = {item['serviceName']: item['segmentSize'] for item in data['segmentItems']}
    assert sizes.get('short-lived') == 8000


def test_a_span_a_daemon_thread_closes_during_the_exit_is_delivered(services, collector):
    # A server thread that has answered but not yet closed its entry span when the
    # application exits: the queue is empty then, so the flush alone would return at once and
    # the reporter would be gone before the span closes. Meanwhile another thread keeps
    # opening spans, which must not hold the exit back.
    result = run_script(
        services,
        'closing-at-exit',
        """
        import sys, threading, time
        from skywalking.trace.context import get_context

        answered = threading.Event()

        def serve():
            with get_context().new_entry_span('/answered-late'):
                answered.set()
                time.sleep(0.05)

        def busy():
            while True:
                with get_context().new_entry_span('/busy'):
                    time.sleep(0.001)

        threading.Thread(target=serve, daemon=True).start()
        threading.Thread(target=busy, daemon=True).start()
        answered.wait()
        print(f'exiting at {time.time()}', flush=True)
        sys.exit(0)
        """,
    )
    ended = time.time()
    assert result.returncode == 0, result.stderr
    ops = {s['spans'][0]['operationName'] for s in segments_of(collector, 'closing-at-exit')}
    assert '/answered-late' in ops, result.stderr
    # The exit waited for that span only, not for the busy thread's stream of new ones.
    took = ended - float(result.stdout.split('exiting at ')[1].split()[0])
    assert took < 2, f'the exit took {took:.2f} s'


def test_sampling_limits_new_traces_but_keeps_incoming_ones(services, collector):
    result = run_script(
        services,
        'sampled',
        """
        from skywalking.trace.context import get_context
        for i in range(10):
            with get_context().new_entry_span(f'/new-{i}'):
                pass
        fields = ['dHJhY2U=', 'c2VnbWVudA==', '3', 'Y2FsbGVy', 'aW5zdGFuY2U=', 'L2NhbGxlcg==', 'aG9zdDox']
        caller = '1-' + '-'.join(fields)
        for i in range(5):
            with get_context().new_entry_span(f'/continued-{i}', sw8=caller):
                pass
        """,
        SW_SAMPLE_N_PER_3_SECS='3',
    )
    assert result.returncode == 0, result.stderr
    ops = [s['spans'][0]['operationName'] for s in segments_of(collector, 'sampled')]
    assert sorted(op for op in ops if op.startswith('/new')) == ['/new-0', '/new-1', '/new-2']
    assert sorted(op for op in ops if op.startswith('/continued')) == [f'/continued-{i}' for i in range(5)]


def test_a_dead_backend_costs_the_application_nothing(services):
    dead = f'127.0.0.1:{free_port()}'
    started = time.monotonic()
    result = run_script(
        services,
        'no-backend',
        """
        import time
        from skywalking import _core
        from skywalking.trace.context import get_context
        start = time.perf_counter()
        for i in range(20000):
            with get_context().new_entry_span('/work'):
                pass
        elapsed = time.perf_counter() - start
        stats = _core.stats()
        print('ELAPSED', elapsed)
        print('QUEUED', stats['segments_queued'], 'DROPPED', stats['segments_dropped_queue_full'])
        print('NOOP', stats['spans_dropped_queue_full'])
        print('LOST', stats['segments_lost_send_error'])
        """,
        SW_AGENT_COLLECTOR_BACKEND_SERVICES=dead,
        SW_AGENT_TRACE_REPORTER_MAX_BUFFER_SIZE='1000',
        SW_AGENT_EXIT_FLUSH_TIMEOUT='1',
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(' ', 1) for line in result.stdout.splitlines() if ' ' in line)
    queued, _, dropped = (int(x) if x.isdigit() else x for x in lines['QUEUED'].split())
    # The queue is bounded: every request is accounted for, as a queued segment, a segment
    # dropped at a full queue, or (as upstream) a no-op span while the queue was full.
    assert queued + dropped + int(lines['NOOP']) == 20000
    # At most the queue's capacity waits; what failed streams took is counted as lost.
    assert queued - int(lines['LOST']) <= 1000
    assert int(lines['NOOP']) > 0
    # Exit waited at most the flush timeout for the dead backend.
    assert time.monotonic() - started < 30


def test_greenlets_have_their_own_contexts(services, collector):
    result = run_script(
        services,
        'gevent-app',
        """
        from gevent import monkey
        monkey.patch_all()
        import gevent
        from skywalking.trace.context import get_context

        def request(name, delay):
            with get_context().new_entry_span(f'/{name}'):
                gevent.sleep(delay)
                with get_context().new_local_span(f'{name}-work'):
                    gevent.sleep(delay)

        gevent.joinall([gevent.spawn(request, n, d) for n, d in (('a', 0.03), ('b', 0.01), ('c', 0.02))])
        """,
    )
    assert result.returncode == 0, result.stderr
    segments = segments_of(collector, 'gevent-app')
    assert len(segments) == 3
    for segment in segments:
        [work, entry] = segment['spans']
        assert work['operationName'] == entry['operationName'][1:] + '-work'
        assert work['parentSpanId'] == entry['spanId']


def test_outage_then_recovery(services, tmp_path):
    """No backend at start: the app keeps working, memory stays bounded by the queue, every
    request is accounted for in the counters; once a backend appears, new data arrives."""
    from tests.conftest import Collector, collector_command, wait_for_port

    grpc_port, http_port = free_port(), free_port()
    go = tmp_path / 'backend-is-up'
    script = f"""
        import os, resource, time
        from skywalking import _core
        from skywalking.trace.context import get_context

        def rss_mib():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        def burst(op, count):
            for i in range(count):
                with get_context().new_entry_span(op):
                    pass

        burst('/warm-up', 1000)
        before = rss_mib()
        burst('/during-outage', 200000)
        stats = _core.stats()
        print('OUTAGE', stats['segments_queued'], stats['segments_dropped_queue_full'],
              stats['spans_dropped_queue_full'], round(rss_mib() - before, 1),
              stats['segments_lost_send_error'], flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.05)
        # The reporter is backing off; new data must get through once it retries.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _core.stats()['segments_sent'] == 0:
            burst('/after-recovery', 1)
            time.sleep(0.2)
        burst('/after-recovery', 20)
        print('FLUSHED', _core.flush(20), flush=True)
        """
    command = [sys.executable, '-m', 'sw_python', 'run', sys.executable, '-c', textwrap.dedent(script)]
    env = services.env(
        'outage-app',
        SW_AGENT_COLLECTOR_BACKEND_SERVICES=f'127.0.0.1:{grpc_port}',
        SW_AGENT_TRACE_REPORTER_MAX_BUFFER_SIZE='500',
    )
    app = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    services.processes.append(app)
    outage = app.stdout.readline().split()
    assert outage and outage[0] == 'OUTAGE', app.stderr.read()[-3000:]
    queued, dropped, skipped, lost = (int(x) for x in (*outage[1:4], outage[5]))
    # Every request is accounted for: queued, dropped at the full queue, or a no-op span.
    assert queued + dropped + skipped == 201000
    # At most the queue's capacity waits; what the failing streams took is counted as lost.
    assert queued - lost <= 500
    assert float(outage[4]) < 20, f'RSS grew by {outage[4]} MiB during the outage'

    log = open(tmp_path / 'late-collector.log', 'w')
    late = subprocess.Popen(
        [*collector_command(), '--grpc', f'127.0.0.1:{grpc_port}', '--http', f'127.0.0.1:{http_port}'],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    services.processes.append(late)
    wait_for_port(http_port, process=late)
    go.write_text('')
    out, err = app.communicate(timeout=120)
    assert 'FLUSHED True' in out, err[-3000:]
    backend = Collector(grpc_port, http_port, late)
    ops = [s['spans'][0]['operationName'] for s in segments_of(backend, 'outage-app')]
    assert ops.count('/after-recovery') >= 20


def test_dynamic_configuration_changes_the_running_agent(services, collector, tmp_path):
    """Settings pushed through configuration discovery apply without a restart, and go
    back to the local values when the backend stops sending them."""

    def configure(settings: dict) -> None:
        body = json.dumps({'service': 'dynamic-app', 'configurations': settings}).encode()
        status, text = collector.request('POST', '/api/configurations', body)
        assert status == 200, text

    configure({'agent.trace.ignore_path': '/health', 'agent.sample_n_per_3_secs': '1'})
    script = f"""
        import os, time
        from skywalking.trace.context import get_context

        def phase(name):
            marker = os.path.join({str(tmp_path)!r}, name)
            while not os.path.exists(marker):
                time.sleep(0.05)
            for op in ('/work',) * 5 + ('/health',) * 3:
                with get_context().new_entry_span(f'{{op}}-{{name}}'):
                    pass
            print('DONE', name, flush=True)

        for name in ('one', 'two', 'three'):
            phase(name)
        """
    command = [sys.executable, '-m', 'sw_python', 'run', sys.executable, '-c', textwrap.dedent(script)]
    env = services.env('dynamic-app', SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL='1')
    log = open(services.tmp_path / 'dynamic-app.log', 'w')
    app = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    services.processes.append(app)

    def run_phase(name: str, settings: dict | None, received: int) -> None:
        if settings is not None:
            configure(settings)
        # The agent has the configuration once it logs it (the n-th one it received).
        services.wait_for_log('dynamic-app', 'dynamic configuration', count=received)
        (tmp_path / name).write_text('')
        assert app.stdout.readline().split() == ['DONE', name], services.log_of('dynamic-app')[-3000:]

    run_phase('one', None, 1)
    run_phase('two', {'agent.active': 'false'}, 2)
    run_phase('three', {}, 3)
    assert app.wait(30) == 0
    ops = sorted(s['spans'][0]['operationName'] for s in segments_of(collector, 'dynamic-app'))
    assert ops == [
        *['/health-three'] * 3,
        '/work-one',  # sampling 1 per 3 s; /health ignored
        *['/work-three'] * 5,  # phase two traced nothing; phase three is back to local settings
    ], ops


def test_the_agents_own_counters_are_reported_as_meters(services, collector, tmp_path):
    done = tmp_path / 'meters-seen'
    script = f"""
        import os, time
        from skywalking import _core
        from skywalking.trace.context import get_context
        for i in range(7):
            with get_context().new_entry_span('/counted'):
                pass
        assert _core.flush(10)
        deadline = time.monotonic() + 60
        while not os.path.exists({str(done)!r}) and time.monotonic() < deadline:
            time.sleep(0.05)
        """
    command = [sys.executable, '-m', 'sw_python', 'run', sys.executable, '-c', textwrap.dedent(script)]
    env = services.env('self-observed', SW_AGENT_METER_REPORTER_PERIOD='1')
    app = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    services.processes.append(app)

    def meters() -> dict[str, float]:
        data = yaml.safe_load(collector.receive_data())
        items = [i for i in data.get('meterItems') or [] if i['serviceName'] == 'self-observed']
        return {m['meterId']['name']: m['singleValue'] for item in items for m in item['meters']}

    # The meters of a period after the flush: every segment counted as sent.
    deadline = time.monotonic() + 30
    while meters().get('skywalking_agent_segments_sent') != 7.0 and time.monotonic() < deadline:
        time.sleep(0.2)
    done.write_text('')
    _, err = app.communicate(timeout=30)
    assert app.returncode == 0, err[-3000:]
    values = meters()
    assert values['skywalking_agent_segments_queued'] == 7.0
    assert values['skywalking_agent_segments_sent'] == 7.0
    assert values['skywalking_agent_segments_dropped_queue_full'] == 0.0
