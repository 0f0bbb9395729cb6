"""sw_loguru: a service logging through loguru under `sw-python run` reports each record at
or above `agent_log_reporter_level` to the local collector (`logItems` in SkyWalking's
expected-data format, checked in full by /dataValidate), with the request's trace context
inside a span and none outside, an `exception` tag, and loguru's own output unchanged; on
the loguru version `tools/plugin_matrix.py` installed (`plugin_python`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.scenario import Scenario

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


@pytest.fixture(scope='module')
def scenario(collector, tmp_path_factory, plugin_python):
    running = Scenario(
        collector,
        tmp_path_factory.mktemp('loguru'),
        plugin_python,
        'loguru-service',
        HERE / 'services' / 'service.py',
        # The exception tag holds the exception line only, so that it can be compared whole.
        SW_AGENT_CAUSE_EXCEPTION_DEPTH='0',
        SW_AGENT_METER_REPORTER_ACTIVE='False',
    )
    yield running
    running.stop()


@pytest.mark.parametrize('case', ['inside', 'outside', 'exception', 'bound'])
def test_records_reach_the_collector(scenario, case):
    assert scenario.call(case) == (200, {'result': 'logged'})
    scenario.validate(EXPECTED / f'{case}.yml')


def test_the_applications_own_loguru_output_is_unchanged(scenario):
    assert scenario.call('inside') == (200, {'result': 'logged'})
    scenario.validate(EXPECTED / 'inside.yml')
    output = scenario.services.log_of('loguru-service')
    # loguru's default stderr handler (level DEBUG) still prints both lines, the one below the
    # reporter's level included, formatted by loguru and not by the agent.
    assert '| INFO     | __main__:inside:' in output and 'below the reporter level' in output
    assert '| WARNING  | __main__:inside:' in output and 'inside span 1' in output
