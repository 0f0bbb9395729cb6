"""The Neo4j driver under `sw-python run`, unmodified, against a protocol-level stand-in for
Neo4j (bolt_server.py: Bolt 4.4), since no Neo4j can run on this machine. Each case's spans
checked in full by the collector's /dataValidate; the queries the stand-in received show the
driver really ran them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.neo4j.bolt_server import BoltStandIn
from tests.plugins.scenario import stand_in_fixtures

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


stand_in, scenario = stand_in_fixtures(
    BoltStandIn, 'neo4j', HERE, 'BOLT_PORT', SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH='32'
)


@pytest.mark.parametrize(
    ('case', 'result'),
    [('session_run', ['one', 1]), ('transaction_run', 42), ('async_run', [sum(range(50)), 'tx'])],
)
def test_case(scenario, stand_in, case, result):
    before = len(stand_in.queries)
    assert scenario.call(case) == (200, {'result': result})
    scenario.validate(EXPECTED / f'{case}.yml')
    assert len(stand_in.queries) > before


def test_async_tasks_keep_their_own_spans(scenario):
    scenario.call('async_run')
    runs = [span for span in scenario.spans() if span['operationName'] == 'Neo4j/AsyncSession/run']
    assert len(runs) == 50 and {span['parentSpanId'] for span in runs} == {0}


def test_syntax_error_reaches_the_application_and_marks_the_span(scenario):
    status, answer = scenario.call('syntax_error')
    assert status == 500
    assert answer['error'].endswith('CypherSyntaxError')
    scenario.validate(EXPECTED / 'syntax_error.yml')
