"""asyncpg under `sw-python run` against the machine's PostgreSQL: each case's spans checked
in full by the collector's /dataValidate, and what the application got back checked here."""

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
        tmp_path_factory.mktemp('asyncpg'),
        plugin_python,
        'asyncpg-service',
        HERE / 'services' / 'service.py',
        CLOSED_PORT=str(free_port()),
        SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH='16',
    )
    yield running
    running.stop()


@pytest.mark.parametrize(
    ('case', 'result'),
    [
        ('fetch', [[3]]),
        ('no_arguments', 'SELECT 1'),
        ('many', ['one', 'two', 'three']),
        ('cursor', [1, 2, 3]),
        ('concurrent', sum(range(50))),
    ],
)
def test_case(scenario, case, result):
    assert scenario.call(case) == (200, {'result': result})
    scenario.validate(EXPECTED / f'{case}.yml')


def test_concurrent_tasks_keep_their_own_spans(scenario):
    scenario.call('concurrent')
    queries = [span for span in scenario.spans() if span['spanType'] == 'Exit']
    assert len(queries) == 50 and {span['parentSpanId'] for span in queries} == {0}
    parameters = sorted(tag['value'] for span in queries for tag in span['tags'] if tag['key'] == 'db.sql.parameters')
    assert parameters == sorted(f'[{i}]' for i in range(50))


def test_bad_sql_reaches_the_application_and_marks_the_span(scenario):
    status, answer = scenario.call('bad_sql')
    assert status == 500
    assert answer['error'] == 'asyncpg.exceptions.PostgresSyntaxError'
    scenario.validate(EXPECTED / 'bad_sql.yml')


def test_connection_refused_reaches_the_application(scenario):
    status, answer = scenario.call('refused')
    assert status == 500
    assert answer['error'] in ('builtins.ConnectionRefusedError', 'builtins.OSError')
    scenario.validate(EXPECTED / 'refused.yml')
