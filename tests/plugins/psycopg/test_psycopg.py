"""psycopg 3 under `sw-python run` against the machine's PostgreSQL, sync and async: each
case's spans checked in full by the collector's /dataValidate, and what the application got
back checked here (the same rows and exceptions as without the agent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.scenario import sql_scenario

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


@pytest.fixture(scope='module')
def scenario(collector, tmp_path_factory, plugin_python):
    running = sql_scenario(collector, tmp_path_factory, plugin_python, 'psycopg', HERE)
    yield running
    running.stop()


@pytest.mark.parametrize(
    ('case', 'result'),
    [
        ('query', {'sum': 3}),
        ('connection_execute', ['named']),
        ('many', [['one'], ['two'], ['three']]),
        ('stream', [1, 2, 3]),
        ('server_cursor', [1, 2, 3, 4]),
        ('composed', [7]),
        ('async_queries', [sum(range(50)), [1, 2]]),
    ],
)
def test_case(scenario, case, result):
    scenario.check(case, result, EXPECTED)


def test_async_tasks_keep_their_own_spans(scenario):
    scenario.call('async_queries')
    spans = scenario.spans()
    queries = [span for span in spans if span['operationName'] == 'PostgreSQL/Psycopg/execute']
    assert len(queries) == 50 and {span['parentSpanId'] for span in queries} == {0}
    parameters = sorted(tag['value'] for span in queries for tag in span['tags'] if tag['key'] == 'db.sql.parameters')
    assert parameters == sorted(f'[{i}]' for i in range(50))


def test_bad_sql_reaches_the_application_and_marks_the_span(scenario):
    scenario.check_error('bad_sql', 'psycopg.errors.SyntaxError', EXPECTED)


def test_connection_refused_reaches_the_application(scenario):
    scenario.check_error('refused', 'psycopg.OperationalError', EXPECTED)
