"""psycopg2 under `sw-python run` against the machine's PostgreSQL: each case's spans checked
in full by the collector's /dataValidate, and what the application got back checked here
(the same rows, classes and exceptions as without the agent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.plugins.scenario import Scenario

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


@pytest.fixture(scope='module')
def scenario(collector, tmp_path_factory, plugin_python):
    running = Scenario(
        collector,
        tmp_path_factory.mktemp('psycopg2'),
        plugin_python,
        'psycopg2-service',
        HERE / 'services' / 'service.py',
        CLOSED_PORT=str(free_port()),
        SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH='16',
    )
    yield running
    running.stop()


@pytest.mark.parametrize(
    ('case', 'result'),
    [
        ('query', [3]),
        ('long_parameters', [20]),
        ('no_parameters', [5]),
        ('many', [['one'], ['two'], ['three']]),
        ('dict_cursor', [{'one': 1, 'two': 'b'}, {'two': 2}, 'RealDictRow']),
        ('dict_connection', [3, 'DictCursor', True]),
        ('callproc', ['ABC']),
        ('composed', [7]),
        ('register_type', [{'a': 1}]),
        ('pool', [4]),
    ],
)
def test_case(scenario, case, result):
    assert scenario.call(case) == (200, {'result': result})
    scenario.validate(EXPECTED / f'{case}.yml')


def test_bad_sql_reaches_the_application_and_marks_the_span(scenario):
    status, answer = scenario.call('bad_sql')
    assert status == 500
    assert answer['error'] == 'psycopg2.errors.SyntaxError'
    assert 'SELEC' in answer['message']
    scenario.validate(EXPECTED / 'bad_sql.yml')
    [query] = [span for span in scenario.spans() if span['spanType'] == 'Exit']
    assert 'SyntaxError' in query['logs'][0]['logEvent'][0]['value']


def test_connection_refused_reaches_the_application(scenario):
    status, answer = scenario.call('refused')
    assert status == 500
    assert answer['error'] == 'psycopg2.OperationalError'
    scenario.validate(EXPECTED / 'refused.yml')
