"""Elasticsearch client cases against the tests' stand-in for Elasticsearch (its HTTP API on
127.0.0.1:$ES_PORT); runs with SW_PLUGIN_ELASTICSEARCH_TRACE_DSL=True."""

import os
import sys
from importlib.metadata import version
from pathlib import Path

from elasticsearch import Elasticsearch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve

client = Elasticsearch(f'http://127.0.0.1:{os.environ["ES_PORT"]}')
MAJOR = int(version('elasticsearch').split('.')[0])


def index_and_get():
    client.indices.create(index='db_es_songs')
    document = {'song': 'Despacito', 'artist': 'Luis Fonsi'}
    if MAJOR >= 8:
        client.index(index='db_es_songs', id='1', document=document)
    else:
        client.index(index='db_es_songs', id='1', body=document)
    return client.get(index='db_es_songs', id='1')['_source']


def missing():
    client.get(index='db_es_songs', id='404')


serve({'index_and_get': index_and_get, 'missing': missing})
