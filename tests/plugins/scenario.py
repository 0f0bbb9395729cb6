"""Test-side helpers of the database scenarios: the service under `sw-python run` in the
library's virtualenv (`plugin_python`, tests/plugins/conftest.py), a call to one of its
cases, and the expected data checked by the collector's ``/dataValidate``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from tests.conftest import Collector, Services, free_port, http_get


class Scenario:
    """One service of a scenario, started once for a test module."""

    def __init__(self, collector: Collector, tmp_path: Path, python: str, name: str, script: Path, **env: str):
        self.collector = collector
        self.name = name
        self.port = free_port()
        self.services = Services(collector, tmp_path)
        self.substitutions: dict[str, str] = {'SERVICE_PORT': str(self.port)}
        self.services.start(name, script, self.port, python=python, **env)

    def stop(self) -> None:
        self.services.stop()

    def call(self, case: str) -> tuple[int, dict]:
        """Runs `case` on a fresh collector; the status and the answer's JSON."""
        self.collector.reset()
        status, body = http_get(f'http://127.0.0.1:{self.port}/{case}', timeout=60)
        return status, json.loads(body)

    def check(self, case: str, result: object, expected: Path) -> None:
        """`case` answers 200 with `result`, and its spans are ``expected/<case>.yml``."""
        assert self.call(case) == (200, {'result': result})
        self.validate(expected / f'{case}.yml')

    def check_error(self, case: str, error: str | tuple[str, ...], expected: Path) -> dict:
        """`case` answers 500 with the driver's own exception class `error` (or one of several),
        unchanged by the agent, and its spans are ``expected/<case>.yml``. The answer is
        returned for further checks."""
        status, answer = self.call(case)
        assert status == 500, answer
        assert answer['error'] in ((error,) if isinstance(error, str) else error), answer
        self.validate(expected / f'{case}.yml')
        return answer

    def expected(self, path: Path, **substitutions: object) -> str:
        text = path.read_text()
        for key, value in {**self.substitutions, **substitutions}.items():
            text = text.replace(key, str(value))
        return text

    def validate(self, path: Path, **substitutions: object) -> None:
        ok, reason = self.collector.validate(self.expected(path, **substitutions))
        assert ok, f'{reason}\n{self.services.logs()}'

    def spans(self, timeout: float = 20.0) -> list[dict]:
        """The spans of the one segment received since the last call (waits for it)."""
        deadline = time.monotonic() + timeout
        while True:
            data = yaml.safe_load(self.collector.receive_data()) or {}
            for item in data.get('segmentItems') or []:
                if item['serviceName'] == self.name and item['segments']:
                    return item['segments'][0]['spans']
            if time.monotonic() > deadline:
                raise AssertionError(f'no segment from {self.name}:\n{self.services.logs()}')
            time.sleep(0.2)


def sql_scenario(collector: Collector, tmp_path_factory, python: str, name: str, here: Path) -> Scenario:
    """A SQL driver's scenario service (``here/services/service.py``, named ``<name>-service``)
    as the SQL scenarios' cases and expected data assume it: ``CLOSED_PORT`` a port nobody
    listens on (the refused case) and SQL parameters recorded up to 16 characters."""
    return Scenario(
        collector,
        tmp_path_factory.mktemp(name),
        python,
        f'{name}-service',
        here / 'services' / 'service.py',
        CLOSED_PORT=str(free_port()),
        SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH='16',
    )
