"""redis-py under `sw-python run` against the machine's Redis: each case's spans checked in
full by the collector's /dataValidate, and what the application got back checked here (the
same values, or redis-py's own exception, as without the agent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from tests.conftest import free_port
from tests.plugins.scenario import Scenario

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


@pytest.fixture(scope='module')
def scenario(collector, tmp_path_factory, plugin_python):
    closed_port = free_port()  # nothing listens there
    running = Scenario(
        collector,
        tmp_path_factory.mktemp('redis'),
        plugin_python,
        'redis-service',
        HERE / 'services' / 'service.py',
        CLOSED_PORT=str(closed_port),
    )
    running.substitutions['CLOSED_PORT'] = str(closed_port)
    yield running
    running.stop()


def test_commands(scenario):
    status, answer = scenario.call('commands')
    assert (status, answer) == (200, {'result': [True, 'value', True, True]})
    scenario.validate(EXPECTED / 'commands.yml')


def test_pipeline(scenario):
    status, answer = scenario.call('pipeline')
    assert (status, answer) == (200, {'result': [True, 'one']})
    scenario.validate(EXPECTED / 'pipeline.yml')


def test_transaction(scenario):
    status, answer = scenario.call('transaction')
    assert status == 200 and answer['result'][1:] == [1, 3], answer
    scenario.validate(EXPECTED / 'transaction.yml')


def test_server_error_reaches_the_application_and_marks_the_span(scenario):
    status, answer = scenario.call('server_error')
    assert status == 500
    assert answer['error'] == 'redis.exceptions.ResponseError'
    assert answer['message'].startswith('WRONGTYPE')
    scenario.validate(EXPECTED / 'server_error.yml')
    [lpush] = [span for span in scenario.spans() if span['operationName'] == 'Redis/LPUSH']
    assert 'ResponseError' in lpush['logs'][0]['logEvent'][0]['value']


def test_connection_refused(scenario):
    status, answer = scenario.call('refused')
    assert status == 500
    assert answer['error'] == 'redis.exceptions.ConnectionError'
    scenario.validate(EXPECTED / 'refused.yml')


def test_asyncio_tasks_keep_their_own_spans(scenario, library_version):
    version = library_version('redis')
    if version is not None and version < Version('4.2'):
        pytest.skip(f'redis {version} has no redis.asyncio')
    status, answer = scenario.call('asyncio')
    assert (status, answer) == (200, {'result': [['value'], ['value', 1]]})
    scenario.validate(EXPECTED / 'asyncio.yml')
    spans = scenario.spans()
    gets = [span for span in spans if span['operationName'] == 'Redis/GET']
    assert len(gets) == 50 and {span['parentSpanId'] for span in gets} == {0}
    assert len({span['spanId'] for span in spans}) == len(spans) == 53


def test_expected_files_parse():
    for path in EXPECTED.glob('*.yml'):
        assert yaml.safe_load(path.read_text())['segmentItems'], path
