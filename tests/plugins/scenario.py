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


def down_expected(service: str, url: str, exit_span: dict | None = None, status: int = 503) -> str:
    """Expected data of a request to `url` whose handler sends to a broker that is down and
    answers `status`: the HTTP entry span (an error at 400 and above) and, when given, the
    exit span under it (``op``, ``component``, ``peer``, ``tags`` as ``(key, value)`` pairs,
    ``error``: an error span with the exception's traceback as its log)."""
    spans = []
    if exit_span is not None:
        error = bool(exit_span.get('error'))
        span = {
            'operationName': exit_span['op'], 'parentSpanId': 0, 'spanId': 1, 'spanLayer': 'MQ',
            'startTime': 'gt 0', 'endTime': 'gt 0', 'componentId': exit_span['component'], 'isError': error,
            'spanType': 'Exit', 'peer': exit_span['peer'], 'skipAnalysis': False,
            'tags': [{'key': key, 'value': value} for key, value in exit_span['tags']],
        }  # fmt: skip
        if error:
            span['logs'] = [{'logEvent': [{'key': 'Traceback', 'value': 'not null'}]}]
        spans.append(span)
    http_tags = [('http.method', 'GET'), ('http.url', url), ('http.status_code', str(status))]
    spans.append({
        'operationName': '/' + url.split('/', 3)[3], 'parentSpanId': -1, 'spanId': 0, 'spanLayer': 'Http',
        'startTime': 'gt 0', 'endTime': 'gt 0', 'componentId': 7000, 'isError': status >= 400, 'spanType': 'Entry',
        'peer': 'not null', 'skipAnalysis': False, 'tags': [{'key': k, 'value': v} for k, v in http_tags],
    })  # fmt: skip
    segment = {'segmentId': 'not null', 'spans': spans}
    data = {'segmentItems': [{'serviceName': service, 'segmentSize': 1, 'segments': [segment]}]}
    return yaml.safe_dump(data, sort_keys=False)
