"""aioredis 2 under `sw-python run` against the machine's Redis: each case's spans checked in
full by the collector's /dataValidate, and what the application got back checked here.
aioredis 2 imports only on Python 3.10 (the plugin declares no version for 3.11+; that it
stays quiet there is tests/unit/test_plugins_in_a_process.py's). Run it with a 3.10
interpreter, after building the agent's native module for it (`maturin build -i python3.10`,
its ``_core.cpython-310-*.so`` put beside the current one in python/skywalking/)::

    python tools/plugin_matrix.py --python /root/.pyenv/versions/3.10.13/bin/python3.10 aioredis
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.plugins.scenario import Scenario

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


@pytest.fixture(scope='module')
def scenario(collector, tmp_path_factory, plugin_python, library_version):
    if library_version('aioredis') is None:
        pytest.skip('aioredis is not installed for this interpreter (it imports on Python 3.10 only)')
    closed_port = free_port()
    running = Scenario(
        collector,
        tmp_path_factory.mktemp('aioredis'),
        plugin_python,
        'aioredis-service',
        HERE / 'services' / 'service.py',
        CLOSED_PORT=str(closed_port),
    )
    running.substitutions['CLOSED_PORT'] = str(closed_port)
    yield running
    running.stop()


@pytest.mark.parametrize(
    ('case', 'result'),
    [('commands', [True, 'value']), ('pipeline', [True, 'one']), ('concurrent', ['value'])],
)
def test_case(scenario, case, result):
    assert scenario.call(case) == (200, {'result': result})
    scenario.validate(EXPECTED / f'{case}.yml')


def test_concurrent_tasks_keep_their_own_spans(scenario):
    scenario.call('concurrent')
    gets = [span for span in scenario.spans() if span['operationName'] == 'Redis/AIORedis/GET']
    assert len(gets) == 50 and {span['parentSpanId'] for span in gets} == {0}


def test_server_error(scenario):
    status, answer = scenario.call('server_error')
    assert status == 500
    assert answer['error'] == 'aioredis.exceptions.ResponseError'
    scenario.validate(EXPECTED / 'server_error.yml')


def test_connection_refused(scenario):
    status, answer = scenario.call('refused')
    assert status == 500
    assert answer['error'] == 'aioredis.exceptions.ConnectionError'
    scenario.validate(EXPECTED / 'refused.yml')
