"""PyMongo cases against the tests' stand-in for MongoDB (its wire protocol on
127.0.0.1:$MONGO_PORT); collections start with ``db_``."""

import os
import sys
from pathlib import Path

import pymongo

from skywalking import config

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve

client = pymongo.MongoClient(f'mongodb://127.0.0.1:{os.environ["MONGO_PORT"]}/', serverSelectionTimeoutMS=5000)
songs = client['db_test']['db_songs']


def crud():
    songs.insert_one({'song': 'Despacito', 'year': 2017})
    songs.insert_many([{'song': 'Hello', 'year': 2015}, {'song': 'Happy', 'year': 2013}])
    songs.update_one({'song': 'Hello'}, {'$set': {'year': 2016}})
    found = songs.find_one({'song': 'Hello'}, {'_id': False})
    songs.delete_one({'song': 'Happy'})
    return found


def traced_parameters():
    config.plugin_pymongo_trace_parameters = True
    try:
        return songs.find_one({'song': 'Despacito'}, {'_id': False})
    finally:
        config.plugin_pymongo_trace_parameters = False


def server_error():
    client['db_test'].command('db_no_such_command')


serve({'crud': crud, 'traced_parameters': traced_parameters, 'server_error': server_error})
