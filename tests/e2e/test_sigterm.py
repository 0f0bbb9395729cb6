"""SIGTERM, the usual container stop signal, under load: the agent sends what is queued
before the process ends, and the process still ends as SIGTERM ends it. An application's
own SIGTERM handler is left in place and runs."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import yaml

from tests.conftest import free_port, wait_for_port

SERVER = """
import os, signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from skywalking.trace.tags import Tag

from skywalking.trace.context import get_context

class Payload(Tag):
    key = 'payload'

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        # Segments of some size, so that the reporter has a backlog when the signal comes;
        # small enough that a release build's thousands of requests stay within the local
        # collector's default memory budget (64 MiB held), which would otherwise evict the
        # oldest segments and look like losses.
        for i in range(20):
            with get_context().new_local_span(f'step-{i}') as span:
                span.tag(Payload('x' * 100))
        body = b'ok'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

if os.environ.get('OWN_HANDLER'):
    def own(signum, frame):
        print('own handler ran', flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, own)
ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
"""


def entry_operations(collector, service: str) -> set[str]:
    data = yaml.safe_load(collector.receive_data())
    for item in data.get('segmentItems') or []:
        if item['serviceName'] == service:
            return {
                span['operationName']
                for seg in item['segments']
                for span in seg['spans']
                if span['spanType'] == 'Entry'
            }
    return set()


def load_then_sigterm(services, name: str, **env: str) -> tuple[subprocess.Popen, dict[str, float], float]:
    """Starts the server, sends requests from 8 threads for 2 s, SIGTERMs the server while
    they run; returns the process, the paths of the requests that completed with when they
    did, and when the signal was sent."""
    port = free_port()
    command = [sys.executable, '-m', 'sw_python', 'run', sys.executable, '-c', textwrap.dedent(SERVER)]
    log = open(services.tmp_path / f'{name}.log', 'w')
    process = subprocess.Popen(
        command, env=services.env(name, PORT=str(port), **env), stdout=log, stderr=subprocess.STDOUT
    )
    services.processes.append(process)
    wait_for_port(port, process=process)
    completed: dict[str, float] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(worker: int) -> None:
        n = 0
        while not stop.is_set():
            path = f'/work/{worker}/{n}'
            n += 1
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=5) as response:
                    response.read()
            except (OSError, http.client.HTTPException):  # refused, or cut off mid-response by the exit
                continue
            with lock:
                completed[path] = time.monotonic()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(2)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    stop.set()
    for t in threads:
        t.join()
    return process, completed, signalled


def test_sigterm_flushes_every_completed_request_and_still_terminates(services, collector):
    process, completed, _ = load_then_sigterm(services, 'sigterm-default')
    assert process.returncode == -signal.SIGTERM, services.logs()
    assert len(completed) > 200, f'the load was light: {len(completed)} requests'
    received = entry_operations(collector, 'sigterm-default')
    # Every request that completed, also while the agent was flushing after the signal.
    missing = set(completed) - received
    print(f'SIGTERM under load: {len(completed)} requests completed, {len(missing)} segments missing')
    assert not missing, f'{len(missing)} of {len(completed)} completed requests lost, e.g. {sorted(missing)[:5]}'


def test_an_applications_own_sigterm_handler_runs(services, collector):
    process, completed, signalled = load_then_sigterm(services, 'sigterm-own', OWN_HANDLER='1')
    log = (services.tmp_path / 'sigterm-own.log').read_text()
    assert 'own handler ran' in log, log
    assert process.returncode == 3, log
    # Its handler exits through sys.exit, so the atexit flush delivers what was queued (the
    # server's daemon threads may still finish a request during that flush, as at any exit).
    before = {path for path, at in completed.items() if at < signalled}
    missing = before - entry_operations(collector, 'sigterm-own')
    assert not missing, f'{len(missing)} of {len(before)} lost'
