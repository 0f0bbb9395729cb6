"""HappyBase under `sw-python run`, unmodified, against a protocol-level stand-in for the
HBase Thrift server (thrift_server.py: Thrift's binary protocol), since no HBase can run on
this machine. Each case's spans checked in full by the collector's /dataValidate; the calls
the stand-in received show the library really made them."""

from __future__ import annotations

from pathlib import Path

from tests.plugins.happybase.thrift_server import HBaseThriftStandIn
from tests.plugins.scenario import stand_in_fixtures

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


stand_in, scenario = stand_in_fixtures(HBaseThriftStandIn, 'happybase', HERE, 'THRIFT_PORT')


def test_table_calls(scenario, stand_in):
    expected = [{'info:song': 'Despacito'}, ['row-1', 'row-2'], ['row-2']]
    assert scenario.call('table_calls') == (200, {'result': expected})
    scenario.validate(EXPECTED / 'table_calls.yml')
    assert 'scannerOpenWithScan' in stand_in.calls and 'mutateRows' in stand_in.calls


def test_server_error_reaches_the_application_and_marks_the_span(scenario):
    status, answer = scenario.call('server_error')
    assert status == 500
    assert answer['error'].endswith('TApplicationException')
    scenario.validate(EXPECTED / 'server_error.yml')
