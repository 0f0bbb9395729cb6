"""mysqlclient under `sw-python run` against the machine's MariaDB: each case's spans checked in
full by the collector's /dataValidate, and what the application got back checked here.
mysqlclient has no Linux wheels: its virtualenvs build it, which needs the MariaDB (or
MySQL) client headers and pkg-config (Debian: ``apt-get install libmariadb-dev pkg-config``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.scenario import sql_scenario

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


@pytest.fixture(scope='module')
def scenario(collector, tmp_path_factory, plugin_python):
    running = sql_scenario(collector, tmp_path_factory, plugin_python, 'mysqlclient', HERE)
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
    scenario.check(case, result, EXPECTED)


def test_bad_sql_reaches_the_application_and_marks_the_span(scenario):
    scenario.check_error('bad_sql', 'MySQLdb.ProgrammingError', EXPECTED)


def test_connection_refused_reaches_the_application(scenario):
    scenario.check_error('refused', 'MySQLdb.OperationalError', EXPECTED)
