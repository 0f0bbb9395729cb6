"""The Elasticsearch client under `sw-python run`, unmodified, against a protocol-level
stand-in for Elasticsearch (es_server.py: its HTTP API), since no Elasticsearch can run on
this machine. Each case's spans checked in full by the collector's /dataValidate; what the
stand-in received shows the client really made those requests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.plugins.elasticsearch.es_server import ElasticsearchStandIn
from tests.plugins.scenario import stand_in_fixtures

HERE = Path(__file__).parent
EXPECTED = HERE / 'expected'


stand_in, scenario = stand_in_fixtures(
    ElasticsearchStandIn, 'elasticsearch', HERE, 'ES_PORT', SW_PLUGIN_ELASTICSEARCH_TRACE_DSL='True'
)


def test_index_and_get(scenario, stand_in):
    assert scenario.call('index_and_get') == (200, {'result': {'song': 'Despacito', 'artist': 'Luis Fonsi'}})
    scenario.validate(EXPECTED / 'index_and_get.yml')
    sent = [(method, path.split('?')[0]) for method, path, _ in stand_in.requests if path.split('?')[0] != '/']
    assert sent[-3:] == [('PUT', '/db_es_songs'), ('PUT', '/db_es_songs/_doc/1'), ('GET', '/db_es_songs/_doc/1')]


def test_missing_document_reaches_the_application_and_marks_the_span(scenario):
    status, answer = scenario.call('missing')
    assert status == 500
    assert answer['error'].endswith('NotFoundError')
    scenario.validate(EXPECTED / 'missing.yml')


PEER_CHECK = """
try:
    from elasticsearch.transport import Transport
except ImportError:  # 8.x and later: the node pool, read on every call
    print('no 7.x transport')
    raise SystemExit
from skywalking.plugins import sw_elasticsearch

transport = Transport([{'host': 'es-1', 'port': 9201}])
assert sw_elasticsearch._transport_peer(transport) == 'es-1:9201'
transport.add_connection({'host': 'es-2', 'port': 9202})  # appends to the same list
assert sw_elasticsearch._transport_peer(transport) == 'es-1:9201,es-2:9202'
transport.hosts = [{'host': 'es-3'}]
assert sw_elasticsearch._transport_peer(transport) == 'es-3:9200'
print('ok')
"""


def test_the_peer_kept_on_a_transport_follows_its_hosts(plugin_python, library_version):
    done = subprocess.run([plugin_python, '-c', PEER_CHECK], capture_output=True, text=True, timeout=60)
    expected = 'ok' if library_version('elasticsearch').major < 8 else 'no 7.x transport'
    assert done.stdout.strip() == expected, done.stderr
