"""psycopg2 under `sw-python run` against the machine's PostgreSQL: each case's spans checked
in full by the collector's /dataValidate, and what the application got back checked here
(the same rows, classes and exceptions as without the agent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.scenario import sql_scenario

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


@pytest.fixture(scope='module')
def scenario(collector, tmp_path_factory, plugin_python):
    running = sql_scenario(collector, tmp_path_factory, plugin_python, 'psycopg2', HERE)
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
        ('named_cursor', [[1, 2, 3], 'db_named_keyword', 'cursor']),
        ('callproc', ['ABC']),
        ('composed', [7]),
        ('register_type', [{'a': 1}]),
        ('pool', [4]),
    ],
)
def test_case(scenario, case, result):
    scenario.check(case, result, EXPECTED)


def test_bad_sql_reaches_the_application_and_marks_the_span(scenario):
    answer = scenario.check_error('bad_sql', 'psycopg2.errors.SyntaxError', EXPECTED)
    assert 'SELEC' in answer['message']
    [query] = [span for span in scenario.spans() if span['spanType'] == 'Exit']
    assert 'SyntaxError' in query['logs'][0]['logEvent'][0]['value']


def test_connection_refused_reaches_the_application(scenario):
    scenario.check_error('refused', 'psycopg2.OperationalError', EXPECTED)
