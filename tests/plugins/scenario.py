"""Test-side helpers of the scenarios. Database scenarios: the service under `sw-python run`
in the library's virtualenv (`plugin_python`, tests/plugins/conftest.py), a call to one of its
cases, and the expected data checked by the collector's ``/dataValidate``. Message-queue
scenarios: a producer and a consumer service on a queue (or topic) of the test's own,
expected files with placeholders filled in, the Kafka round trip the Kafka clients share,
and the expected data of a send to a broker that is down."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
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


def stand_in_scenario(
    collector: Collector,
    tmp_path_factory,
    python: str,
    name: str,
    here: Path,
    port_variable: str,
    port: int,
    **env: str,
) -> Scenario:
    """A scenario service (``here/services/service.py``, named ``<name>-service``) talking to a
    protocol-level stand-in server on `port`: the service reads the port from the environment
    variable `port_variable`, and the expected data name it by the same word."""
    running = Scenario(
        collector,
        tmp_path_factory.mktemp(name),
        python,
        f'{name}-service',
        here / 'services' / 'service.py',
        **{port_variable: str(port)},
        **env,
    )
    running.substitutions[port_variable] = str(port)
    return running


def stand_in_fixtures(server: Callable[[], Any], name: str, here: Path, port_variable: str, **env: str):
    """The module-scoped fixtures ``stand_in`` (a `server()`, stopped at the end) and
    ``scenario`` (`stand_in_scenario` against it) of a stand-in scenario; in its test module::

        stand_in, scenario = stand_in_fixtures(MongoStandIn, 'pymongo', HERE, 'MONGO_PORT')
    """

    @pytest.fixture(scope='module')
    def stand_in():
        running = server()
        yield running
        running.stop()

    @pytest.fixture(scope='module')
    def scenario(collector, tmp_path_factory, plugin_python, stand_in):
        running = stand_in_scenario(
            collector, tmp_path_factory, plugin_python, name, here, port_variable, stand_in.port, **env
        )
        yield running
        running.stop()

    return stand_in, scenario


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


# --- message queues -----------------------------------------------------------------------

#: The log of an error span, as it goes into expected data under ``spans:``.
ERROR_LOGS = '      logs:\n      - logEvent:\n        - {key: Traceback, value: not null}\n'


def fill(text: str, values: Mapping[str, object]) -> str:
    """`text` with each key of `values` replaced by its value, longest key first (so that
    ``PORT`` does not replace the end of ``PRODUCER_PORT``)."""
    for key, value in sorted(values.items(), key=lambda item: -len(item[0])):
        text = text.replace(key, str(value))
    return text


def expected_file(folder: Path, name: str, values: Mapping[str, object]) -> str:
    """``<folder>/expected/<name>`` with `values` filled in."""
    return fill((folder / 'expected' / name).read_text(), values)


def check(collector: Collector, services: Services, text: str, *context: object, timeout: float = 30) -> None:
    """Validates `text` (expected data); on failure, says why with what the collector got, the
    services' logs and any further `context` (a test broker's errors)."""
    ok, reason = collector.validate(text, timeout=timeout)
    assert ok, '\n'.join([reason, collector.receive_data(), services.logs(), *map(str, context)])


def start_amqp_pair(services: Services, folder: Path, python: str, prefix: str, **consumer_env: str) -> dict[str, str]:
    """A RabbitMQ scenario: the consumer (``services/consumer.py``), then the HTTP producer
    (``services/producer.py``), on an exchange and queue of this test's own
    (``<prefix>_x_<id>``, ``<prefix>_<id>``); the values for its expected files."""
    name = uuid.uuid4().hex[:12]
    env = {'EXCHANGE': f'{prefix}_x_{name}', 'QUEUE': f'{prefix}_{name}'}
    services.start('consumer', folder / 'services' / 'consumer.py', free_port(), python=python, **consumer_env, **env)
    producer_port = free_port()
    services.start('producer', folder / 'services' / 'producer.py', producer_port, python=python, **env)
    return {**env, 'PRODUCER_PORT': str(producer_port)}


def kafka_round_trip(
    services: Services, collector: Collector, python: str, broker, folder: Path, prefix: str, mode: str, expected: str
) -> None:
    """A Kafka client's scenario against the test broker: the HTTP producer sends one record
    (with an application header) to a topic of this test's own, the consumer (``MODE=mode``)
    handles it; `expected` (``expected/<name>``) must hold, and the application's header must
    have travelled next to the agent's. A ``subscribe`` consumer must have been a member of
    its group and committed."""
    from tests.kafka_broker import JOIN_GROUP, OFFSET_COMMIT, SYNC_GROUP

    topic = f'{prefix}_{uuid.uuid4().hex[:12]}'
    env = {'BROKER': broker.address, 'TOPIC': topic}
    producer_port = free_port()
    services.start('producer', folder / 'services' / 'producer.py', producer_port, python=python, **env)
    consumer_env = {**env, 'MODE': mode, 'PRODUCER_PORT': str(producer_port)}
    services.start('consumer', folder / 'services' / 'consumer.py', free_port(), python=python, **consumer_env)

    assert http_get(f'http://127.0.0.1:{producer_port}/send')[0] == 200

    values = {'PRODUCER_PORT': producer_port, 'BROKER': broker.address, 'TOPIC': topic}
    check(collector, services, expected_file(folder, expected, values), broker.errors)
    services.wait_for_log('consumer', "received b'hello' ['mine', 'sw8']")
    if mode == 'subscribe':
        wanted = {JOIN_GROUP, SYNC_GROUP, OFFSET_COMMIT}
        assert broker.wait_for(lambda: wanted <= {api for api, _, _ in broker.requests})
