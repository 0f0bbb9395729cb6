"""Forked children keep a working agent that reports as its own instance: os.fork,
multiprocessing, gunicorn workers of every class, uwsgi workers; and forking while the
reporter is busy never hangs a child."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent


def segment_instances(collector, service: str) -> dict[str, list[str]]:
    """Operation names of the first span of each segment, per service instance."""
    status, text = collector.request('GET', f'/api/traces?service={service}&limit=1000')
    assert status == 200, text
    found: dict[str, list[str]] = {}
    for trace in json.loads(text):
        status, text = collector.request('GET', f'/api/traces/{trace["traceId"]}')
        for segment in json.loads(text)['segments']:
            if segment['service'] == service:
                found.setdefault(segment['serviceInstance'], []).append(segment['spans'][-1]['operationName'])
    return found


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    return predicate()


def run_script(services, name: str, code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [sys.executable, '-m', 'sw_python', 'run', sys.executable, '-c', textwrap.dedent(code)]
    return subprocess.run(command, env=services.env(name), capture_output=True, text=True, timeout=timeout)


def test_a_subprocess_child_with_preexec_fn_starts_no_reporter_before_exec(services, tmp_path):
    # subprocess forks, runs the after-fork callbacks, the preexec_fn, closes every
    # descriptor and execs. A reporter started there would be thrown away by the exec, and
    # its threads met their descriptors closed under them: a child aborted now and then
    # ("IO Safety violation"), so the program it was to run never ran.
    threads_file = tmp_path / 'threads'
    result = run_script(
        services,
        'preexec-app',
        f"""
        import os, subprocess, sys

        def note_threads():
            fd = os.open({str(threads_file)!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.write(fd, b'%d\\n' % len(os.listdir('/proc/self/task')))
            os.close(fd)

        for _ in range(20):
            done = subprocess.run([sys.executable, '-c', 'print("ran")'], preexec_fn=note_threads, capture_output=True)
            assert done.returncode == 0 and done.stdout == b'ran\\n', done
        print('ok')
        """,
    )
    assert result.returncode == 0 and 'ok' in result.stdout, result.stderr[-3000:]
    counts = threads_file.read_text().split()
    assert counts == ['1'] * 20, f'threads in the child before exec: {counts}'


def test_os_fork_and_multiprocessing_children_report_as_their_own_instances(services, collector):
    result = run_script(
        services,
        'fork-app',
        """
        import multiprocessing, os, sys
        from skywalking.trace.context import get_context

        with get_context().new_local_span('parent-op'):
            pass
        children = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:
                with get_context().new_local_span('forked-op'):
                    pass
                sys.exit(0)  # a normal exit: the child's atexit flush sends its segment
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)

        def work():
            with get_context().new_local_span('multiprocessing-op'):
                pass

        process = multiprocessing.get_context('fork').Process(target=work)
        process.start()
        process.join()
        print('CHILDREN', *children, process.pid)
        """,
    )
    assert result.returncode == 0, result.stderr
    pids = result.stdout.split('CHILDREN')[1].split()
    expected = {
        'fork-app-instance': ['parent-op'],
        f'fork-app-instance-child({pids[0]})': ['forked-op'],
        f'fork-app-instance-child({pids[1]})': ['forked-op'],
        f'fork-app-instance-child({pids[2]})': ['multiprocessing-op'],
    }
    found = wait_for(lambda: (f := segment_instances(collector, 'fork-app')) == expected and f, 15)
    assert found == expected, segment_instances(collector, 'fork-app')


def test_forking_while_the_reporter_is_busy_never_hangs(services):
    result = run_script(
        services,
        'fork-busy',
        """
        import os, threading
        from skywalking import _core
        from skywalking.trace.context import get_context

        stop = threading.Event()

        def busy():
            while not stop.is_set():
                with get_context().new_local_span('busy'):
                    pass

        thread = threading.Thread(target=busy)
        thread.start()
        failures = 0
        for _ in range(100):
            pid = os.fork()
            if pid == 0:
                with get_context().new_local_span('child'):
                    pass
                os._exit(0 if _core.flush(10) else 3)
            _, status = os.waitpid(pid, 0)
            failures += os.waitstatus_to_exitcode(status) != 0
        stop.set()
        thread.join()
        print('FAILURES', failures)
        """,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'FAILURES 0' in result.stdout, result.stdout + result.stderr[-3000:]


def pids_of_workers(port: int, workers: int = 2, timeout: float = 30.0) -> set[str]:
    """Sends rounds of concurrent requests until `workers` different processes answered (a
    worker that is still starting lets the others take every request), or the deadline."""
    deadline = time.monotonic() + timeout
    pids = hit_concurrently(port)
    while len(pids) < workers and time.monotonic() < deadline:
        pids |= hit_concurrently(port)
    return pids


def hit_concurrently(port: int, count: int = 12) -> set[str]:
    pids: set[str] = set()

    def one():
        status, body = http_get(f'http://127.0.0.1:{port}/work')
        assert status == 200
        pids.add(body.decode())

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return pids


def check_workers(collector, service: str, worker_pids: set[str], master_suffix: str) -> None:
    def per_worker():
        found = segment_instances(collector, service)
        return all(any(name.endswith(f'-child({pid})') for name in found) for pid in worker_pids) and found

    found = wait_for(per_worker, 30)
    assert found, segment_instances(collector, service)
    for pid in worker_pids:
        [name] = [n for n in found if n.endswith(f'-child({pid})')]
        assert master_suffix in name, name
        assert set(found[name]) == {'/work'}


@pytest.mark.parametrize('worker_class', ['sync', 'gthread', 'gevent', 'uvicorn.workers.UvicornWorker'])
def test_gunicorn_workers_report_as_their_own_instances(services, collector, worker_class):
    port = free_port()
    service = f'gunicorn-{worker_class.split(".")[0]}'
    app = 'asgi_app:app' if 'uvicorn' in worker_class else 'wsgi_app:app'
    command = [sys.executable, '-m', 'sw_python', 'run', '-p', 'gunicorn', '-w', '2', '-k', worker_class]
    command += ['--threads', '4'] if worker_class == 'gthread' else []
    command += ['-b', f'127.0.0.1:{port}', '--chdir', str(HERE / 'services'), app]
    services.start_command(service, command, port)
    pids = pids_of_workers(port)
    assert len(pids) == 2, f'requests did not reach both workers: {pids}'
    # Under `-p`, the gunicorn master is `<name>-master(<pid>)`, its workers `...-child(<pid>)`.
    check_workers(collector, service, pids, '-master(')


@pytest.mark.parametrize('lazy', [False, True])
def test_uwsgi_workers_report_as_their_own_instances(services, collector, lazy):
    port = free_port()
    service = f'uwsgi-{"lazy" if lazy else "preload"}'
    command = [sys.executable, '-m', 'sw_python', 'run', '-p', 'uwsgi', '--http-socket', f'127.0.0.1:{port}']
    command += ['--wsgi-file', str(HERE / 'services' / 'wsgi_app.py'), '--callable', 'app', '--processes', '2']
    command += ['--lazy-apps'] if lazy else []
    command += ['--die-on-term', '--disable-logging']
    services.start_command(service, command, port)
    pids = pids_of_workers(port)
    assert len(pids) == 2, f'requests did not reach both workers: {pids}'
    check_workers(collector, service, pids, '-child(')
