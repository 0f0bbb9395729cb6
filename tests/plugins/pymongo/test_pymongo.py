"""PyMongo under `sw-python run`, unmodified, against a protocol-level stand-in for MongoDB
(mongo_server.py: OP_MSG and the OP_QUERY handshake, with its own BSON codec), since no
MongoDB can run on this machine. Each case's spans checked in full by the collector's
/dataValidate; the commands the stand-in received show the driver really sent them."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from tests.plugins.pymongo.mongo_server import MongoStandIn
from tests.plugins.scenario import stand_in_fixtures

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


stand_in, scenario = stand_in_fixtures(MongoStandIn, 'pymongo', HERE, 'MONGO_PORT')


def test_crud(scenario, stand_in):
    assert scenario.call('crud') == (200, {'result': {'song': 'Hello', 'year': 2016}})
    scenario.validate(EXPECTED / 'crud.yml')
    assert [c for c in stand_in.commands if c in ('insert', 'update', 'find', 'delete')][:5] == [
        'insert',
        'insert',
        'update',
        'find',
        'delete',
    ]


def test_traced_parameters(scenario):
    assert scenario.call('traced_parameters') == (200, {'result': {'song': 'Despacito', 'year': 2017}})
    scenario.validate(EXPECTED / 'traced_parameters.yml')
    [find] = [span for span in scenario.spans() if span['spanType'] == 'Exit']
    statement = dict((tag['key'], tag['value']) for tag in find['tags'])['db.statement']
    assert statement.startswith("find {'filter': {'song': 'Despacito'}"), statement


def test_server_error_reaches_the_application_and_marks_the_span(scenario):
    status, answer = scenario.call('server_error')
    assert status == 500
    assert answer['error'] == 'pymongo.errors.OperationFailure'
    scenario.validate(EXPECTED / 'server_error.yml')


def test_async_bulk_calls_are_one_span_each(scenario, stand_in, library_version):
    version = library_version('pymongo')
    if version < Version('4.9'):
        pytest.skip(f'pymongo {version} has no AsyncMongoClient')
    sent = len(stand_in.commands)
    assert scenario.call('async_bulk') == (200, {'result': {'song': 'Clocks', 'year': 2003}})
    scenario.validate(EXPECTED / 'async_bulk.yml')
    # The bulk calls really sent a command per kind of write: they are grouped by the agent.
    assert [c for c in stand_in.commands[sent:] if c in ('insert', 'update', 'find', 'endSessions')] == [
        'insert',
        'insert',
        'update',
        'find',
        'endSessions',
    ]
