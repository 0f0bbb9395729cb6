"""A collector binary started for one test, with its stderr kept, its memory readable and its
open-files limit settable; and raw HTTP requests with any headers."""

from __future__ import annotations

import http.client
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT, collector_command, free_port, wait_for_port


def collector_binary() -> list[str]:
    """The standalone `sw-collector`: `SW_COLLECTOR_BIN`, else a cargo build of it, else the
    package's `sw-python collector` (the same Rust code)."""
    explicit = os.environ.get('SW_COLLECTOR_BIN')
    if explicit:
        return [explicit]
    targets = [Path(os.environ['CARGO_TARGET_DIR'])] if os.environ.get('CARGO_TARGET_DIR') else []
    targets.append(ROOT / 'target')
    for target in targets:
        for profile in ('release', 'debug'):
            binary = target / profile / 'sw-collector'
            if binary.exists():
                return [str(binary)]
    found = shutil.which('sw-collector')
    return [found] if found else collector_command()


@dataclass
class Running:
    process: subprocess.Popen
    http_port: int
    grpc_port: int
    log_path: Path

    @property
    def host(self) -> str:
        return f'127.0.0.1:{self.http_port}'

    def log(self) -> str:
        return self.log_path.read_text(errors='replace')

    def status(self, field: str) -> int:
        """A `/proc/<pid>/status` value in KiB (VmRSS, VmHWM)."""
        for line in Path(f'/proc/{self.process.pid}/status').read_text().splitlines():
            if line.startswith(field + ':'):
                return int(line.split()[1])
        raise KeyError(field)

    def rss_mib(self) -> float:
        return self.status('VmRSS') / 1024

    def peak_mib(self) -> float:
        return self.status('VmHWM') / 1024

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, str]:
        """One request on a fresh connection; `headers` may override Host."""
        conn = http.client.HTTPConnection('127.0.0.1', self.http_port, timeout=timeout)
        try:
            all_headers = dict(headers or {})
            skip_host = any(k.lower() == 'host' for k in all_headers)
            conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
            for key, value in all_headers.items():
                conn.putheader(key, value)
            if body is not None:
                conn.putheader('Content-Length', str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response.read().decode(errors='replace')
        finally:
            conn.close()

    def json_post(self, path: str, body: bytes, **headers: str) -> tuple[int, str]:
        return self.request('POST', path, body, {'Content-Type': 'application/json', **headers})

    def wait_log(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            time.sleep(0.05)
        raise AssertionError(f'{text!r} not logged; log:\n{self.log()[-3000:]}')


def start(tmp_path: Path, *args: str, open_files: int | None = None, http: str = '127.0.0.1') -> Running:
    http_port, grpc_port = free_port(), free_port()

    def limit_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    log_path = tmp_path / f'collector-{http_port}.log'
    with open(log_path, 'w') as log:
        command = [
            *collector_binary(),
            '--grpc',
            f'127.0.0.1:{grpc_port}',
            '--http',
            f'{http}:{http_port}',
            *args,
        ]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit_files)
    try:
        wait_for_port(http_port, process=process)
        wait_for_port(grpc_port, process=process)
    except RuntimeError as error:
        raise RuntimeError(f'{error}; its log:\n{log_path.read_text()[-3000:]}') from None
    return Running(process, http_port, grpc_port, log_path)


def stop(running: Running) -> None:
    running.process.terminate()
    try:
        running.process.wait(10)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait()
