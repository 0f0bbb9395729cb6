"""Shared fixtures: a real local collector, and services run under `sw-python run`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f'process exited with {process.returncode} before listening on {port}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f'nothing listens on 127.0.0.1:{port} after {timeout}s')


def collector_command() -> list[str]:
    """`sw-python collector` from the installed package, else a built `sw-collector`."""
    try:
        from skywalking import _core

        if hasattr(_core, 'run_collector'):
            return [sys.executable, '-m', 'sw_python', 'collector']
    except ImportError:
        pass
    for profile in ('release', 'debug'):
        binary = ROOT / 'target' / profile / 'sw-collector'
        if binary.exists():
            return [str(binary)]
    found = shutil.which('sw-collector')
    if found:
        return [found]
    raise RuntimeError('no collector: install the package or run `cargo build -p sw-collector`')


@dataclass
class Collector:
    grpc_port: int
    http_port: int
    process: subprocess.Popen

    @property
    def grpc_address(self) -> str:
        return f'127.0.0.1:{self.grpc_port}'

    @property
    def http_url(self) -> str:
        return f'http://127.0.0.1:{self.http_port}'

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.http_url + path, data=body, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def reset(self) -> None:
        status, _ = self.request('DELETE', '/receiveData')
        assert status == 200

    def receive_data(self) -> str:
        return self.request('GET', '/receiveData')[1]

    def validate(self, expected_yaml: str, timeout: float = 20.0) -> tuple[bool, str]:
        """POSTs to /dataValidate until it passes or `timeout` runs out (data arrives async)."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.request('POST', '/dataValidate', expected_yaml.encode())
            if status == 200 or time.monotonic() > deadline:
                return status == 200, body
            time.sleep(0.5)


@pytest.fixture(scope='session')
def collector(tmp_path_factory) -> Collector:
    grpc_port, http_port = free_port(), free_port()
    log = open(tmp_path_factory.mktemp('collector') / 'collector.log', 'w')
    command = [*collector_command(), '--grpc', f'127.0.0.1:{grpc_port}', '--http', f'127.0.0.1:{http_port}']
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(http_port, process=process)
        wait_for_port(grpc_port, process=process)
        yield Collector(grpc_port, http_port, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@dataclass
class Services:
    """Processes started for one test; all stopped at its end."""

    collector: Collector
    tmp_path: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self, name: str, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SW_AGENT_NAME=name,
            SW_AGENT_INSTANCE_NAME=f'{name}-instance',
            SW_AGENT_COLLECTOR_BACKEND_SERVICES=self.collector.grpc_address,
            SW_AGENT_LOGGING_LEVEL='DEBUG',
            SW_AGENT_PROFILE_ACTIVE='False',
            PYTHONUNBUFFERED='1',
        )
        env.update(extra)
        return env

    def start(self, name: str, script: Path, port: int, python: str = sys.executable, **extra: str) -> subprocess.Popen:
        """Runs `sw-python run python <script>` with interpreter `python` (whose environment
        provides the agent) and waits until it listens on `port`."""
        command = [python, '-m', 'sw_python', 'run', python, str(script)]
        return self.start_command(name, command, port, cwd=script.parent, **extra)

    def start_command(self, name: str, command: list[str], port: int, cwd: Path | None = None, **extra: str):
        """Runs `command` (e.g. `sw-python run -p gunicorn ...`) and waits until it listens on `port`."""
        log = open(self.tmp_path / f'{name}.log', 'w')
        env = self.env(name, PORT=str(port), **extra)
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        self.processes.append(process)
        try:
            wait_for_port(port, process=process)
        except Exception as error:
            log.flush()
            raise AssertionError(f'{name} did not start:\n{(self.tmp_path / f"{name}.log").read_text()}') from error
        return process

    def log_of(self, name: str) -> str:
        path = self.tmp_path / f'{name}.log'
        return path.read_text(errors='replace') if path.exists() else ''

    def wait_for_log(self, name: str, text: str, count: int = 1, timeout: float = 30.0) -> None:
        """Waits until service `name` has logged `text` at least `count` times."""
        deadline = time.monotonic() + timeout
        while self.log_of(name).count(text) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f'{name} did not log {text!r} {count} time(s) in {timeout}s:\n{self.logs()}')
            time.sleep(0.1)

    def logs(self) -> str:
        return '\n'.join(f'--- {p.name}\n{p.read_text()}' for p in sorted(self.tmp_path.glob('*.log')))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


UPSTREAM_VENV = ROOT / '.cache' / 'venv-apache-skywalking'
# 1.3.0's wheel on PyPI lacks the generated skywalking.protocol package and cannot start.
# kafka-python is upstream's Kafka client (its `kafka` extra), pinned like ours in requirements-test.txt.
UPSTREAM_REQUIREMENTS = ['apache-skywalking==1.2.0', 'flask>=3.0,<4', 'requests>=2.31,<3', 'kafka-python>=2.2,<2.3']


@pytest.fixture(scope='session')
def upstream_python() -> str:
    """A virtualenv with the agent we replace (`apache-skywalking`), for side-by-side tests."""
    python = UPSTREAM_VENV / 'bin' / 'python'
    marker = UPSTREAM_VENV / '.requirements'
    if not python.exists() or not marker.exists() or marker.read_text() != ' '.join(UPSTREAM_REQUIREMENTS):
        subprocess.run([sys.executable, '-m', 'venv', '--clear', str(UPSTREAM_VENV)], check=True)
        subprocess.run([str(python), '-m', 'pip', 'install', '--quiet', *UPSTREAM_REQUIREMENTS], check=True)
        marker.write_text(' '.join(UPSTREAM_REQUIREMENTS))
    return str(python)


@pytest.fixture
def kafka_broker(collector: Collector):
    """The tests' stand-in for Kafka (see tests/kafka_broker.py): a protocol-level broker on
    loopback that decodes every produced record and forwards it to the local collector."""
    from tests.kafka_broker import KafkaTestBroker

    broker = KafkaTestBroker(collector.grpc_address).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def services(collector: Collector, tmp_path: Path):
    collector.reset()
    running = Services(collector, tmp_path)
    try:
        yield running
    finally:
        running.stop()


def http_get(url: str, method: str = 'GET', timeout: float = 15.0) -> tuple[int, bytes]:
    """A plain request from the test process (which runs no agent)."""
    request = urllib.request.Request(url, method=method, data=b'' if method == 'POST' else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
