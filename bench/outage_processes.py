"""The processes outage.py starts: the app under gunicorn, collectors, and the black-hole backend.

Each is a small class that starts its process, waits until it serves, and stops it; the logs
go to bench/results/logs/. The collector is run.py's (run.Sinks), with only its gRPC and HTTP
ports, optionally on a gRPC port chosen beforehand: an outage's backend comes up on the
address the agent was given at start.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

import run
from run import BENCH, LOGS, free_port, http_json, venv_python, wait_until

GUNICORN_PIN = 'gunicorn==23.0.0'
STOP_TIMEOUT_S = 20.0


def ensure_gunicorn(venvs: list[str]) -> None:
    """run.py's venvs have no server; gunicorn is added to those the app runs in (their spec is unchanged)."""
    for venv in venvs:
        probe = subprocess.run([str(venv_python(venv)), '-c', 'import gunicorn'], capture_output=True)
        if probe.returncode != 0:
            run.log(f'installing {GUNICORN_PIN} into venv {venv}')
            run.pip(venv, GUNICORN_PIN)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Collector(run.Sinks):
    """The local collector alone; `grpc_port` fixes its gRPC port (the one an agent already points at)."""

    def __init__(self, name: str, grpc_port: int | None = None) -> None:
        super().__init__()
        self.name = name
        if grpc_port is not None:
            self.grpc = f'127.0.0.1:{grpc_port}'

    def start(self) -> None:
        argv = [str(run.COLLECTOR), '--grpc', self.grpc, '--http', self.http.removeprefix('http://')]
        self._spawn(self.name, [*argv, '--max-segments', '400000'])
        wait_until(lambda: http_json(f'{self.http}/api/stats'), 30, f'collector {self.name}')

    def endpoint_segments(self, service: str) -> dict[str, int]:
        """Segments held per entry-span operation name (one per load phase) for `service`."""
        query = urllib.parse.urlencode({'service': service})
        return {e['name']: e['segments'] for e in http_json(f'{self.http}/api/endpoints?{query}')}


class BlackHole:
    """servers/black_hole.py on `port`: accepts connections and never answers."""

    def __init__(self, port: int, name: str) -> None:
        self.port = port
        self._log = open(LOGS / f'{name}.log', 'w')
        argv = [sys.executable, str(BENCH / 'servers' / 'black_hole.py'), str(port)]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._log, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != 'ready':
            raise RuntimeError(f'the black hole on port {port} did not start; see {self._log.name}')

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


class App:
    """gunicorn serving workloads/outage_app.py in the contender's venv: one gthread worker."""

    def __init__(self, contender: str, service: str, backend: str, threads: int) -> None:
        self.port = free_port()
        self.log_path = LOGS / f'{service}.log'
        self._log = open(self.log_path, 'w')
        env = {k: v for k, v in os.environ.items() if not k.startswith(('SW_', 'OTEL_', 'PYTHON'))}
        env.update(
            {
                'BENCH_CONTENDER': contender,
                'BENCH_SERVICE': service,
                'BENCH_BACKEND': backend,
                'SW_AGENT_TRACE_IGNORE_PATH': '/__stats',
            }
        )
        argv = [
            str(venv_python(run.VENV_OF[contender])),
            *('-m', 'gunicorn', '--chdir', str(BENCH / 'workloads')),
            *('--workers', '1', '--worker-class', 'gthread', '--threads', str(threads)),
            *('--bind', f'127.0.0.1:{self.port}', '--keep-alive', '75', '--graceful-timeout', '10'),
            'outage_app:app',
        ]
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        wait_until(self.stats, 60, f'the {contender} app (gunicorn)')

    def stats(self) -> dict:
        """The worker's ``/__stats``, with the master's peak memory and the log's length added."""
        connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            connection.request('GET', '/__stats')
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f'/__stats answered {response.status}')
        answer = json.loads(body)
        answer['at'] = time.monotonic()
        answer['cpu_s'] = run.process_cpu_s(answer['pid'])
        answer['master_peak_rss_kib'] = peak_rss_kib(self.process.pid)
        answer['log_lines'] = self.log_lines()
        return answer

    def log_lines(self) -> int:
        self._log.flush()
        with open(self.log_path, 'rb') as log:
            return sum(1 for _ in log)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


def peak_rss_kib(pid: int) -> int:
    """VmHWM of another process, 0 when it cannot be read."""
    try:
        with open(f'/proc/{pid}/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
