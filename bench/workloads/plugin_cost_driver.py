"""One process of bench/plugin_cost.py: N iterations of one plugin's traced call, with an
agent (``upstream`` or ``rs``) started as its users start it, or none.

    plugin_cost_driver.py <target> <n> <kind> <backend>

An exit target's iteration is one entry span (manual, as a request's) holding `CALLS` calls
of the library; target ``entry-only`` is that entry span with no call, so that the runner
can take the entry span out. A web framework target's iteration is one request, the app
called as its server calls it (WSGI), or over loopback from a raw HTTP/1.1 client in the
same event loop (aiohttp, tornado). Servers that cannot run here are the tests' stand-ins,
in this process (their threads are not the application thread, which is what is counted).
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the tests' stand-in servers

CALLS = 10  # library calls per entry span in an exit target's iteration


def start_agent(kind: str, backend: str, logs: bool) -> None:
    if kind == 'none':
        return
    from skywalking import agent, config

    config.init(
        agent_collector_backend_services=backend,
        agent_name=f'plugin-cost-{kind}',
        agent_profile_active=False,
        agent_meter_reporter_active=False,
        agent_log_reporter_active=logs,
    )
    agent.start()


def entry_span(kind: str):
    """The context of an iteration of an exit target: a manual entry span, or nothing."""
    if kind == 'none':
        import contextlib

        return contextlib.nullcontext
    from skywalking.trace.context import get_context

    return lambda: get_context().new_entry_span(op='/bench')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


# --- exit targets: each returns one traced library call ---------------------------------------


def pymysql_call():
    import pymysql

    conn = pymysql.connect(host='127.0.0.1', port=3306, user='root', password='', database='test')
    cursor = conn.cursor()
    return lambda: cursor.execute('SELECT 1')


def mysqlclient_call():
    import MySQLdb

    conn = MySQLdb.connect(host='127.0.0.1', port=3306, user='root', passwd='', db='test')
    cursor = conn.cursor()
    return lambda: cursor.execute('SELECT 1')


def psycopg_call():
    import psycopg

    conn = psycopg.connect('host=127.0.0.1 port=5432 dbname=test user=postgres', autocommit=True)
    cursor = conn.cursor()
    return lambda: cursor.execute('SELECT 1')


def asyncpg_call():
    import asyncpg

    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(host='127.0.0.1', port=5432, user='postgres', database='test'))
    return lambda: loop.run_until_complete(conn.fetchval('SELECT 1'))


def pymongo_call():
    import pymongo
    from tests.plugins.pymongo.mongo_server import MongoStandIn

    server = MongoStandIn()
    client = pymongo.MongoClient(f'mongodb://127.0.0.1:{server.port}/', serverSelectionTimeoutMS=5000)
    collection = client.bench.songs
    collection.insert_one({'song': 'Hello'})
    return lambda: collection.find_one({'song': 'Hello'})


def elasticsearch_call():
    import elasticsearch
    from tests.plugins.elasticsearch.es_server import ElasticsearchStandIn

    server = ElasticsearchStandIn()
    client = elasticsearch.Elasticsearch([f'http://127.0.0.1:{server.port}'])
    client.indices.create(index='bench')
    client.index(index='bench', id='1', body={'song': 'Despacito'})
    return lambda: client.get(index='bench', id='1')


def neo4j_call():
    import neo4j
    from tests.plugins.neo4j.bolt_server import BoltStandIn

    server = BoltStandIn()
    driver = neo4j.GraphDatabase.driver(f'bolt://127.0.0.1:{server.port}', auth=('neo4j', 'secret'))
    session = driver.session()
    return lambda: session.run('RETURN $value', value=1).consume()


def happybase_call():
    import happybase
    from tests.plugins.happybase.thrift_server import HBaseThriftStandIn

    server = HBaseThriftStandIn()
    connection = happybase.Connection('127.0.0.1', server.port, autoconnect=True)
    connection.create_table('bench', {'info': {}})
    table = connection.table('bench')
    table.put(b'row-1', {b'info:song': b'Despacito'})
    return lambda: table.row(b'row-1')


def kafka_call():
    import kafka
    from tests.kafka_broker import KafkaTestBroker

    broker = KafkaTestBroker().start()
    producer = kafka.KafkaProducer(bootstrap_servers=broker.address)
    producer.send('bench', b'warm').get(timeout=30)
    return lambda: producer.send('bench', b'hello')


def pika_call():
    import pika

    params = pika.ConnectionParameters('127.0.0.1', 5672, credentials=pika.PlainCredentials('guest', 'guest'))
    channel = pika.BlockingConnection(params).channel()
    queue = f'dedupe_bench_{free_port()}'
    channel.queue_declare(queue, auto_delete=True)
    return lambda: channel.basic_publish('', queue, b'hello')


def celery_call():
    from celery import Celery
    from kombu import Queue

    app = Celery('bench', broker='amqp://guest:guest@127.0.0.1:5672//')
    # A queue of this run's own, which RabbitMQ keeps short and removes a minute after use.
    queue = Queue(f'bench_celery_{free_port()}', queue_arguments={'x-max-length': 100, 'x-expires': 60000})
    app.send_task('bench.noop', args=(1, 2), queue=queue)  # connects and declares the queue
    return lambda: app.send_task('bench.noop', args=(1, 2), queue=queue)


def loguru_call():
    from loguru import logger

    # loguru's default stderr handler (id 0) replaced after the agent started, as an
    # application does; by id, since `logger.remove()` would also remove apache-skywalking's
    # sink (skywalking-rs adds its own back), and there would be nothing to compare.
    logger.remove(0)
    logger.add(io.StringIO(), level='INFO')
    return lambda: logger.warning('a line')


EXITS: dict[str, Callable[[], Callable[[], object]]] = {
    'pymysql': pymysql_call,
    'mysqlclient': mysqlclient_call,
    'psycopg': psycopg_call,
    'asyncpg': asyncpg_call,
    'pymongo': pymongo_call,
    'elasticsearch': elasticsearch_call,
    'neo4j': neo4j_call,
    'happybase': happybase_call,
    'kafka-python': kafka_call,
    'pika': pika_call,
    'celery': celery_call,
    'loguru': loguru_call,
    'entry-only': lambda: lambda: None,
}


# --- entry targets: each returns one request ---------------------------------------------------


def wsgi_request(app) -> Callable[[], object]:
    def start_response(status, headers, exc_info=None):
        return lambda data: None

    def request():
        environ = {
            'REQUEST_METHOD': 'GET',
            'SCRIPT_NAME': '',
            'PATH_INFO': '/users',
            'QUERY_STRING': '',
            'SERVER_NAME': '127.0.0.1',
            'SERVER_PORT': '8080',
            'SERVER_PROTOCOL': 'HTTP/1.1',
            'REMOTE_ADDR': '127.0.0.1',
            'REMOTE_PORT': '50000',
            'HTTP_HOST': '127.0.0.1:8080',
            'wsgi.version': (1, 0),
            'wsgi.url_scheme': 'http',
            'wsgi.input': io.BytesIO(),
            'wsgi.errors': sys.stderr,
            'wsgi.multithread': False,
            'wsgi.multiprocess': False,
            'wsgi.run_once': False,
        }
        body = app(environ, start_response)
        data = b''.join(body)
        if hasattr(body, 'close'):
            body.close()
        return data

    return request


def falcon_request():
    import falcon

    class Users:
        def on_get(self, req, resp):
            resp.media = {'users': []}

    app = falcon.App()
    app.add_route('/users', Users())
    return wsgi_request(app)


def pyramid_request():
    from pyramid.config import Configurator

    with Configurator() as config:
        config.add_route('users', '/users')
        config.add_view(lambda request: {'users': []}, route_name='users', renderer='json')
        app = config.make_wsgi_app()
    return wsgi_request(app)


def bottle_request():
    import bottle

    app = bottle.Bottle()
    app.route('/users')(lambda: {'users': []})
    return wsgi_request(app)


class LoopbackClient:
    """A raw HTTP/1.1 keep-alive client on the same event loop as the server under test (no
    client plugin sees it)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, port: int) -> None:
        self.loop = loop
        self.reader, self.writer = loop.run_until_complete(asyncio.open_connection('127.0.0.1', port))
        self.request_bytes = f'GET /users HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n'.encode()

    async def _get(self) -> bytes:
        self.writer.write(self.request_bytes)
        head = await self.reader.readuntil(b'\r\n\r\n')
        length = 0
        for line in head.split(b'\r\n'):
            if line.lower().startswith(b'content-length:'):
                length = int(line.split(b':', 1)[1])
        return await self.reader.readexactly(length)

    def __call__(self) -> bytes:
        return self.loop.run_until_complete(self._get())


def aiohttp_request():
    from aiohttp import web

    async def users(request):
        return web.json_response({'users': []})

    app = web.Application()
    app.router.add_get('/users', users)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    port = free_port()
    loop.run_until_complete(web.TCPSite(runner, '127.0.0.1', port).start())
    return LoopbackClient(loop, port)


def tornado_request():
    import tornado.web

    class Users(tornado.web.RequestHandler):
        def get(self):
            self.write({'users': []})

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    port = free_port()

    async def listen():
        tornado.web.Application([('/users', Users)]).listen(port, '127.0.0.1')

    loop.run_until_complete(listen())
    return LoopbackClient(loop, port)


def sanic_request():
    from sanic import Sanic
    from sanic.response import json as json_response

    app = Sanic('bench')

    @app.get('/users')
    async def users(request):
        return json_response({'users': []})

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    port = free_port()

    async def start():
        server = await app.create_server(host='127.0.0.1', port=port, return_asyncio_server=True, access_log=False)
        await server.startup()  # the app's signals and listeners (sw_sanic_v2's among them)

    loop.run_until_complete(start())
    return LoopbackClient(loop, port)


def http_server_request():
    """`http.server`: a handler object serves one request over a socket pair, in this thread
    (as a `ThreadingHTTPServer` thread would, without the accept and the thread)."""
    import socket
    from http.server import BaseHTTPRequestHandler

    body = b'{"users": []}'

    class Users(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server:
        server_address = ('127.0.0.1', 8080)

    client, served = socket.socketpair()
    request_bytes = b'GET /users HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n'
    server = Server()

    def request() -> bytes:
        client.sendall(request_bytes)
        Users(served, ('127.0.0.1', 50000), server)  # handles the request, then returns
        response = b''
        while not response.endswith(body):
            response += client.recv(65536)
        return response

    return request


ENTRIES: dict[str, Callable[[], Callable[[], object]]] = {
    'falcon': falcon_request,
    'pyramid': pyramid_request,
    'bottle': bottle_request,
    'aiohttp': aiohttp_request,
    'tornado': tornado_request,
    'sanic': sanic_request,
    'http_server': http_server_request,
}


def main() -> None:
    target, n, kind, backend = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    start_agent(kind, backend, logs=target == 'loguru')
    if target in ENTRIES:
        iteration = ENTRIES[target]()
    else:
        call, span = EXITS[target](), entry_span(kind)

        def iteration() -> None:
            with span():
                for _ in range(CALLS):
                    call()

    for _ in range(100):
        iteration()
    print('ready', flush=True)
    for _ in range(n):
        iteration()
    # Out without the agents' exit flush: what follows the loop is the same for N1 and N2.
    os._exit(0)


if __name__ == '__main__':
    main()
