"""PyMongo cases against the tests' stand-in for MongoDB (its wire protocol on
127.0.0.1:$MONGO_PORT); collections start with ``db_``."""

import asyncio
import os
import sys
from pathlib import Path

import pymongo

from skywalking import config

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve

URI = f'mongodb://127.0.0.1:{os.environ["MONGO_PORT"]}/'
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
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


def async_bulk():
    """PyMongo 4.9+'s AsyncMongoClient: insert_many and bulk_write as one span each, as with
    MongoClient. The client lives in this call's own event loop."""

    async def run():
        async_client = pymongo.AsyncMongoClient(URI, serverSelectionTimeoutMS=5000)
        try:
            tracks = async_client['db_test']['db_async_tracks']
            await tracks.insert_many([{'song': 'Yellow', 'year': 2000}, {'song': 'Clocks', 'year': 2002}])
            await tracks.bulk_write(
                [
                    pymongo.InsertOne({'song': 'Fix You', 'year': 2005}),
                    pymongo.UpdateOne({'song': 'Clocks'}, {'$set': {'year': 2003}}),
                ]
            )
            return await tracks.find_one({'song': 'Clocks'}, {'_id': False})
        finally:
            await async_client.close()

    return asyncio.run(run())


cases = {'crud': crud, 'traced_parameters': traced_parameters, 'server_error': server_error}
if hasattr(pymongo, 'AsyncMongoClient'):
    cases['async_bulk'] = async_bulk
serve(cases)
