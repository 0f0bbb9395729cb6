"""mysqlclient under `sw-python run` against the machine's MariaDB: each case's spans checked in
full by the collector's /dataValidate, and what the application got back checked here.
mysqlclient has no Linux wheels: its virtualenvs build it, which needs the MariaDB (or
MySQL) client headers and pkg-config (Debian: ``apt-get install libmariadb-dev pkg-config``)."""

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
        tmp_path_factory.mktemp('mysqlclient'),
        plugin_python,
        'mysqlclient-service',
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
        ('many', [['uno'], ['two'], ['three']]),
        ('dict_cursor', [{'one': 1, 'two': 'b'}, [[2]]]),
    ],
)
def test_case(scenario, case, result):
    assert scenario.call(case) == (200, {'result': result})
    scenario.validate(EXPECTED / f'{case}.yml')


def test_bad_sql_reaches_the_application_and_marks_the_span(scenario):
    status, answer = scenario.call('bad_sql')
    assert status == 500
    assert answer['error'] == 'MySQLdb.ProgrammingError'
    scenario.validate(EXPECTED / 'bad_sql.yml')


def test_connection_refused_reaches_the_application(scenario):
    status, answer = scenario.call('refused')
    assert status == 500
    assert answer['error'] == 'MySQLdb.OperationalError'
    scenario.validate(EXPECTED / 'refused.yml')
