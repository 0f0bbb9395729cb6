"""The span helpers plugins are written on (`skywalking.plugins._web`, `_http`, `_db`, `_mq`),
checked against what reaches the collector."""

from __future__ import annotations

import logging

import pytest

from skywalking import Component, _core, config
from skywalking._core import decode_sw8, inside_exit_span
from skywalking.loggings import logger
from skywalking.plugins import _common
from skywalking.plugins._db import cache_exit_span, db_exit_span, sql_parameters
from skywalking.plugins._http import INNER, http_exit_span
from skywalking.plugins._mq import mq_consumer_span, mq_producer_span
from skywalking.plugins._web import asgi_entry_span, format_params, http_entry_span, wsgi_entry_span
from skywalking.trace.context import get_context


def tags(span: dict) -> list[tuple[str, str]]:
    return [(tag['key'], tag['value']) for tag in span.get('tags') or []]


def caller_headers() -> tuple[str, str, dict]:
    """sw8 of an exit span in a finished segment: what a calling service would send."""
    headers: dict = {}
    with get_context().new_entry_span('/caller'):
        with http_exit_span('http://callee:80/x', 'GET', Component.Requests, headers=headers):
            pass
    decoded = decode_sw8(headers['sw8'])
    return decoded[0], decoded[1], headers


def test_wsgi_entry_records_after_start_and_continues_the_callers_trace(reported):
    trace_id, parent_segment, headers = caller_headers()
    environ = {
        'REQUEST_METHOD': 'POST',
        'PATH_INFO': '/users',
        'HTTP_HOST': '127.0.0.1:8080',
        'wsgi.url_scheme': 'http',
        'REMOTE_ADDR': '10.0.0.1',
        'REMOTE_PORT': '5555',
        'HTTP_SW8': headers['sw8'],
    }
    with wsgi_entry_span(environ, Component.Flask, params='a=[1]') as span:
        span.tag_http_status(500)
    segments = reported()
    [entry] = [s['spans'][0] for s in segments if s['spans'][0]['operationName'] == '/users']
    assert entry['componentId'] == 7001 and entry['spanLayer'] == 'Http' and entry['spanType'] == 'Entry'
    assert entry['peer'] == '10.0.0.1:5555' and entry['isError'] is True
    assert tags(entry) == [
        ('http.method', 'POST'),
        ('http.url', 'http://127.0.0.1:8080/users'),
        ('http.params', 'a=[1]'),
        ('http.status_code', '500'),
    ]
    [ref] = entry['refs']
    assert ref['traceId'] == trace_id and ref['parentTraceSegmentId'] == parent_segment


def test_wsgi_entry_asks_the_framework_for_a_url_the_environ_cannot_give(reported):
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/caf\u00e9', 'HTTP_HOST': 'h', 'REMOTE_ADDR': '1.2.3.4'}
    with wsgi_entry_span(environ, Component.Flask, url=lambda env: 'http://h/framework-url'):
        pass
    [segment] = reported()
    assert ('http.url', 'http://h/framework-url') in tags(segment['spans'][0])


def test_a_framework_entry_takes_over_the_servers_general_span(reported):
    outer = http_entry_span(Component.General, method='GET', path='/raw', peer='1.1.1.1:1', url='http://h/raw')
    with outer:
        with wsgi_entry_span(
            {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/app', 'HTTP_HOST': 'h'}, Component.Flask, inherit=Component.General
        ) as span:
            span.tag_http_status(200)
    [segment] = reported()
    [entry] = segment['spans']
    assert entry['operationName'] == '/app' and entry['componentId'] == 7001
    assert tags(entry) == [('http.method', 'GET'), ('http.url', 'http://h/app'), ('http.status_code', '200')]


def test_asgi_entry_reads_byte_pair_headers_client_and_server(reported):
    trace_id, _, headers = caller_headers()
    scope = {
        'type': 'http',
        'method': 'GET',
        'scheme': 'https',
        'path': '/items/1',
        'query_string': b'q=1',
        'headers': [(b'user-agent', b'x'), (b'sw8', headers['sw8'].encode()), (b'host', b'api.example:8443')],
        'client': ('10.1.1.1', 4000),
        'server': ('10.2.2.2', 8443),
    }
    with asgi_entry_span(scope, Component.FastAPI) as span:
        span.tag_http_status(201)
    segments = reported()
    [entry] = [s['spans'][0] for s in segments if s['spans'][0]['operationName'] == '/items/1']
    assert entry['componentId'] == 7014 and entry['peer'] == '10.1.1.1:4000'
    assert tags(entry) == [
        ('http.method', 'GET'),
        ('http.url', 'https://api.example:8443/items/1'),
        ('http.status_code', '201'),
    ]
    assert entry['refs'][0]['traceId'] == trace_id


def test_asgi_entry_without_host_header_uses_the_server(reported):
    scope = {'type': 'http', 'method': 'GET', 'path': '/', 'headers': [], 'server': ('srv', 81)}
    with asgi_entry_span(scope, Component.FastAPI):
        pass
    [segment] = reported()
    assert ('http.url', 'http://srv:81/') in tags(segment['spans'][0])


@pytest.mark.parametrize(
    ('client', 'server', 'peer', 'url'),
    [
        (['10.3.3.3', 7], ['srv', 82], '10.3.3.3:7', 'http://srv:82/'),  # lists, not tuples
        (('/run/app.sock', None), ('/run/srv.sock', None), '/run/app.sock', 'http:///run/srv.sock/'),
    ],
)
def test_asgi_entry_reads_client_and_server_in_any_form_servers_send(reported, client, server, peer, url):
    scope = {'type': 'http', 'method': 'GET', 'path': '/', 'headers': [], 'client': client, 'server': server}
    with asgi_entry_span(scope, Component.FastAPI):
        pass
    [segment] = reported()
    entry = segment['spans'][0]
    assert entry['peer'] == peer and ('http.url', url) in tags(entry)


def _asgi_scope(kind: str = 'http', **extra) -> dict:
    scope = {'type': kind, 'path': '/a', 'headers': [(b'host', b'h:1')], 'client': ('10.0.0.9', 5)}
    if kind == 'http':
        scope['method'] = 'GET'
    return {**scope, **extra}


def _run(coroutine):
    import asyncio

    return asyncio.run(coroutine)


def test_asgi_entry_records_the_status_the_application_sends_through_its_send(reported):
    sent = []

    async def send(message):
        sent.append(message)

    async def app(entry):
        with entry:
            await entry.send({'type': 'http.response.start', 'status': 404, 'headers': []})
            await entry.send({'type': 'http.response.body', 'body': b'no'})

    _run(app(asgi_entry_span(_asgi_scope(), Component.FastAPI, send=send)))
    assert [m['type'] for m in sent] == ['http.response.start', 'http.response.body']  # all passed on
    [segment] = reported()
    entry = segment['spans'][0]
    assert entry['isError'] is True and entry['peer'] == '10.0.0.9:5'
    assert tags(entry) == [('http.method', 'GET'), ('http.url', 'http://h:1/a'), ('http.status_code', '404')]


def test_asgi_entry_of_an_application_that_raised_before_answering_is_a_500_with_its_traceback(reported):
    async def send(message):
        pass

    async def app(entry):
        with entry:
            raise KeyError('gone')

    with pytest.raises(KeyError):
        _run(app(asgi_entry_span(_asgi_scope(), Component.FastAPI, send=send)))
    [segment] = reported()
    entry = segment['spans'][0]
    assert entry['isError'] is True
    assert ('http.status_code', '500') in tags(entry)
    assert 'KeyError' in entry['logs'][0]['logEvent'][0]['value']


def test_asgi_entry_of_an_accepted_websocket_is_200_with_upstreams_method(reported):
    async def send(message):
        pass

    async def app(entry):
        with entry:
            await entry.send({'type': 'websocket.accept'})

    _run(app(asgi_entry_span(_asgi_scope('websocket', scheme='ws'), Component.FastAPI, send=send)))
    [segment] = reported()
    entry = segment['spans'][0]
    assert entry['isError'] is False
    assert tags(entry) == [
        ('http.method', 'websocket.accept'),
        ('http.url', 'ws://h:1/a'),
        ('http.status_code', '200'),
    ]


def test_asgi_entry_that_cannot_open_a_span_still_hands_over_the_servers_send(reported, monkeypatch):
    monkeypatch.setattr(_common, '_reported', set())

    async def send(message):
        pass

    entry = asgi_entry_span(None, Component.FastAPI, send=send)  # type: ignore[arg-type]
    with entry as span:
        assert span.is_noop
    assert entry.send is send
    assert reported() == []


def test_generic_entry_reads_headers_through_a_getter(reported):
    trace_id, _, headers = caller_headers()
    message = {'Sw8': headers['sw8']}
    with http_entry_span(
        Component.Tornado, method='GET', path='/t', headers=message, getter=lambda h, name: h.get(name.title())
    ):
        pass
    segments = reported()
    [entry] = [s['spans'][0] for s in segments if s['spans'][0]['operationName'] == '/t']
    assert entry['refs'][0]['traceId'] == trace_id


def test_an_exception_in_the_scope_is_recorded_and_reaches_the_caller_unchanged(reported):
    error = ValueError('boom')
    with pytest.raises(ValueError) as raised:
        with http_entry_span(Component.Tornado, method='GET', path='/fails'):
            raise error
    assert raised.value is error
    [segment] = reported()
    assert segment['spans'][0]['isError'] is True


def test_http_exit_writes_headers_into_dicts_and_pairs_and_strips_credentials(reported):
    pairs = [('SW8', 'set-by-the-caller'), ('accept', '*/*')]
    as_dict: dict = {}
    with get_context().new_entry_span('/out'):
        with http_exit_span('http://user:pw@svc:9000/a/b?x=1', 'get', Component.Requests, headers=pairs) as span:
            span.tag_http_status(404)
        with http_exit_span(b'http://svc:9000', 'POST', Component.HTTPX, headers=as_dict):
            pass
    assert [name for name, _ in pairs] == ['sw8', 'accept']  # replaced in place, not added
    assert decode_sw8(pairs[0][1])[6] == 'svc:9000'
    assert 'sw8' in as_dict and 'sw8-correlation' not in as_dict  # no correlation: not sent
    [segment] = reported()
    spans = {s['operationName']: s for s in segment['spans']}
    first = spans['/a/b']
    assert first['peer'] == 'svc:9000' and first['isError'] is True and first['spanLayer'] == 'Http'
    assert tags(first) == [
        ('http.method', 'GET'),
        ('http.url', 'http://svc:9000/a/b?x=1'),
        ('http.status_code', '404'),
    ]
    assert spans['/']['componentId'] == int(Component.HTTPX)


def test_http_exit_in_bytes_pairs(reported):
    pairs: list = []
    with http_exit_span('http://svc/x', 'GET', Component.HTTPX, headers=pairs, encoding='bytes'):
        pass
    assert [name for name, _ in pairs] == [b'sw8']
    reported()


def test_inside_exit_span_is_true_only_while_an_exit_span_is_open(reported):
    seen = [inside_exit_span()]
    with get_context().new_entry_span('/in'):
        seen.append(inside_exit_span())
        with http_exit_span('http://svc/outer', 'GET', Component.Requests, headers={}):
            seen.append(inside_exit_span())
            # What a plugin of a lower layer gets when it does not step aside: nothing recorded.
            assert http_exit_span('http://svc/inner', 'GET', Component.Urllib3, headers={}) is INNER
        seen.append(inside_exit_span())
        with get_context().new_local_span('work'):
            seen.append(inside_exit_span())
    seen.append(inside_exit_span())
    assert seen == [False, False, True, False, False, False]
    [segment] = reported()
    assert sorted(s['operationName'] for s in segment['spans']) == ['/in', '/outer', 'work']


def test_request_exit_span_is_started_and_finish_with_status_tags_and_ends_it(reported):
    """The two calls of an httpx or `requests` call: opened started (active, its headers
    written on send), ended by its status; None inside another client's exit span."""
    with get_context().new_entry_span('/in') as entry:
        ok = _core.request_exit_span('http://svc:81/ok?q=1', 'get', Component.HTTPX, True)
        assert get_context().active_span is ok
        assert _core.request_exit_span('http://svc:81/inner', 'GET', Component.Urllib3) is None
        covered = [b'GET /ok HTTP/1.1']
        assert _core.write_trace_headers(covered) and covered[-1].startswith(b'sw8: ')
        # The service and instance fields come encoded once per process (sw8::EncodedOrigin).
        assert decode_sw8(covered[-1][5:].decode())[3:] == ('api-test', 'api-test-instance', '/in', 'svc:81')
        ok.finish_with_status(200)
        assert get_context().active_span is entry
        bad = _core.request_exit_span('http://svc:81/bad', 'POST', Component.Requests)
        bad.finish_with_status(503)
        failed = _core.request_exit_span('http://svc:81/refused', 'GET', Component.Requests)
        try:
            raise ConnectionRefusedError('refused')
        except ConnectionRefusedError as error:
            failed.__exit__(type(error), error, error.__traceback__)
        assert get_context().active_span is entry
    [segment] = reported()
    spans = {span['operationName']: span for span in segment['spans']}
    want = [('http.method', 'GET'), ('http.url', 'http://svc:81/ok?q=1'), ('http.status_code', '200')]
    assert tags(spans['/ok']) == want
    assert (spans['/ok']['peer'], spans['/ok']['componentId'], spans['/ok']['spanLayer']) == ('svc:81', 7019, 'Http')
    assert spans['/ok']['isError'] is False and spans['/ok']['spanType'] == 'Exit'
    assert tags(spans['/bad'])[-1] == ('http.status_code', '503') and spans['/bad']['isError'] is True
    assert spans['/refused']['isError'] is True and 'http.status_code' not in dict(tags(spans['/refused']))
    assert 'ConnectionRefusedError' in str(spans['/refused']['logs'])
    assert sorted(spans) == ['/bad', '/in', '/ok', '/refused']


def test_write_trace_headers_says_whether_an_exit_span_covers_the_request(reported):
    """The `endheaders` hook's one native call: the headers of an exit span opened to be
    written on send, and whether the request is covered (else `sw_http_client` takes it)."""

    def send() -> tuple[bool, list[bytes]]:
        buffer = [b'GET /x HTTP/1.1', b'Host: svc']
        covered = _core.write_trace_headers(buffer)
        return covered, [line.split(b':')[0] for line in buffer[2:]]

    seen = [send()]
    with get_context().new_entry_span('/in'):
        seen.append(send())
        with http_exit_span('http://svc/on-send', 'GET', Component.Requests):
            seen.append(send())
        with http_exit_span('http://svc/own-headers', 'GET', Component.HTTPX, headers={}):
            seen.append(send())
        seen.append(send())
    assert seen == [
        (False, []),
        (False, []),
        (True, [b'sw8-correlation', b'sw8']),
        (True, []),
        (False, []),
    ]
    reported()


def test_db_exit_tags_and_parameters_only_when_configured(reported, monkeypatch):
    with db_exit_span(
        'PostgreSQL/Psycopg/execute',
        'db:5432',
        Component.Psycopg,
        db_type='PostgreSQL',
        instance=b'shop',
        statement='SELECT %s',
        params=(1, 'two'),
    ):
        pass
    monkeypatch.setattr(config, 'plugin_sql_parameters_max_length', 4)
    with db_exit_span(
        'Mysql/PyMsql/execute', 'db:3306', Component.PyMysql, db_type='mysql', statement='x', params=(123, 456)
    ):
        pass
    first, second = (segment['spans'][0] for segment in reported())
    assert first['spanLayer'] == 'Database' and first['peer'] == 'db:5432' and first['componentId'] == 7010
    assert tags(first) == [('db.type', 'PostgreSQL'), ('db.instance', 'shop'), ('db.statement', 'SELECT %s')]
    assert tags(second) == [('db.type', 'mysql'), ('db.statement', 'x'), ('db.sql.parameters', '[123,...]')]


def test_db_exit_decodes_bytes_and_takes_a_lone_parameter(reported, monkeypatch):
    monkeypatch.setattr(config, 'plugin_sql_parameters_max_length', 64)
    with db_exit_span(
        'Mysql/PyMsql/execute',
        'db:3306',
        Component.PyMysql,
        db_type='mysql',
        instance=bytearray(b'shop'),
        statement=b"SELECT '\xe9'",  # not UTF-8: read as Latin-1, no byte lost
        params=7,
    ):
        pass
    [segment] = reported()
    assert tags(segment['spans'][0]) == [
        ('db.type', 'mysql'),
        ('db.instance', 'shop'),
        ('db.statement', "SELECT '\u00e9'"),
        ('db.sql.parameters', '[7]'),
    ]


def test_sql_parameters_format_as_upstream():
    assert sql_parameters((1, 'a'), 512) == '[1,a]'
    assert sql_parameters((12345, 6), 3) == '[123...]'
    assert sql_parameters([(1, 2), (3, 4)], 512, many=True) == '[[1,2],[3,4]]'
    assert sql_parameters([(1, 2), (3, 4)], 7, many=True) == '[[1,2],[3...]'
    assert sql_parameters({'a': 1}, 512) == '[1]'


def test_statement_truncated_when_asked(reported):
    with db_exit_span(
        'MongoDB/FindOperation', 'm:1', Component.MongoDB, db_type='MongoDB', statement='abcdef', statement_max_length=3
    ):
        pass
    [segment] = reported()
    assert ('db.statement', 'abc...') in tags(segment['spans'][0])


def test_cache_exit_in_both_styles(reported):
    with cache_exit_span('Redis/GET', 'r:6379', Component.Redis, cmd='GET', key=b'k1', cache_op='read'):
        pass
    with cache_exit_span('Redis/AIORedis/SET', 'r:6379', Component.AIORedis, cmd='SET', db_instance=0):
        pass
    redis, aioredis = (segment['spans'][0] for segment in reported())
    assert redis['spanLayer'] == 'Cache'
    assert tags(redis) == [('cache.type', 'Redis'), ('cache.key', 'k1'), ('cache.cmd', 'GET'), ('cache.op', 'read')]
    assert tags(aioredis) == [('db.type', 'Redis'), ('db.instance', '0'), ('db.statement', 'SET')]


def test_a_db_span_is_active_inside_its_with_and_finishes_once(reported):
    """The helpers return the span started (one native call): the `with` on it, or a plugin's
    own `__enter__()`, must not count a second start, or the span would never finish."""
    with get_context().new_entry_span('/orders'):
        with db_exit_span('PostgreSQL/Psycopg/execute', 'db:5432', Component.Psycopg, db_type='PostgreSQL') as db:
            assert get_context().active_span is db
            with get_context().new_local_span('inside'):
                pass
        assert get_context().active_span.op == '/orders'
        span = cache_exit_span('Redis/GET', 'r:6379', Component.Redis, cmd='GET', key='k')
        span.__enter__()  # as sw_pymongo's command listener does
        assert get_context().active_span is span
        span.__exit__(None, None, None)
        assert get_context().active_span.op == '/orders'
    assert get_context().active_span is None
    [segment] = reported()
    spans = {s['operationName']: s for s in segment['spans']}
    assert [s['operationName'] for s in segment['spans']] == [
        'inside',
        'PostgreSQL/Psycopg/execute',
        'Redis/GET',
        '/orders',
    ]
    assert spans['inside']['parentSpanId'] == spans['PostgreSQL/Psycopg/execute']['spanId']
    assert spans['Redis/GET']['parentSpanId'] == spans['/orders']['spanId']


def test_a_db_span_inherited_by_its_driver_is_the_outer_span_tagged(reported):
    """A client library's exit span that asks to be inherited by the driver's component is
    reused (renamed, tagged) rather than nested, and finishes with its own `with`."""
    with get_context().new_exit_span('orm/query', 'db:5432', Component.Psycopg, Component.Psycopg) as outer:
        with db_exit_span(
            'PostgreSQL/Psycopg/execute', 'db:5432', Component.Psycopg, db_type='PostgreSQL', statement='SELECT 1'
        ) as inner:
            assert inner is outer
        assert get_context().active_span is outer
    assert get_context().active_span is None
    [segment] = reported()
    [span] = segment['spans']
    assert span['operationName'] == 'PostgreSQL/Psycopg/execute' and span['spanLayer'] == 'Database'
    assert tags(span) == [('db.type', 'PostgreSQL'), ('db.statement', 'SELECT 1')]


@pytest.mark.parametrize('mode', ['error', 'panic'])
def test_a_failure_inside_the_native_db_helpers_gives_a_noop_span(reported, monkeypatch, mode):
    monkeypatch.setattr(_common, '_reported', set())
    handler = _Records()
    logger.addHandler(handler)
    try:
        _core._fail_next(mode)
        with db_exit_span('x', 'p', 1, db_type='t', statement='SELECT 1') as db:
            assert db.is_noop and get_context().active_span is db
        _core._fail_next(mode)
        with cache_exit_span('Redis/GET', 'r:6379', Component.Redis, cmd='GET') as cache:
            assert cache.is_noop
        assert get_context().active_span is None
    finally:
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in handler.records if r.levelno == logging.WARNING]
    assert warnings == [
        'db_exit_span failed; the call goes ahead untraced (reported once)',
        'cache_exit_span failed; the call goes ahead untraced (reported once)',
    ]
    assert reported() == []


@pytest.mark.parametrize(
    'headers, encoding, getter',
    [
        ({}, 'text', None),
        ([], 'bytes-values', None),  # Kafka: [(str, bytes)]
        ([], 'bytes', None),  # ASGI-style byte pairs
    ],
)
def test_producer_and_consumer_are_one_trace(reported, headers, encoding, getter):
    with get_context().new_entry_span('/publish'):
        with mq_producer_span(
            'RabbitMQ/Topic/ex/Queue/rk/Producer',
            'mq:5672',
            Component.RabbitmqProducer,
            broker='mq:5672',
            topic='ex',
            queue='rk',
            headers=headers,
            encoding=encoding,
        ):
            pass
    with mq_consumer_span(
        'RabbitMQ/Topic/ex/Queue/rk/Consumer',
        'mq:5672',
        Component.RabbitmqConsumer,
        broker='mq:5672',
        topic='ex',
        queue='rk',
        headers=headers,
        getter=getter,
    ):
        pass
    producer_segment, consumer_segment = reported()
    producer = producer_segment['spans'][0]
    consumer = consumer_segment['spans'][0]
    assert producer['spanLayer'] == 'MQ' and producer['componentId'] == 52
    assert tags(producer) == [('mq.broker', 'mq:5672'), ('mq.topic', 'ex'), ('mq.queue', 'rk')]
    assert consumer['spanType'] == 'Entry' and consumer['componentId'] == 53 and consumer['spanLayer'] == 'MQ'
    assert tags(consumer) == tags(producer)
    [ref] = consumer['refs']
    assert ref['parentTraceSegmentId'] == producer_segment['segmentId']
    assert ref['parentSpanId'] == producer['spanId']


def test_nothing_is_traced_untraced_but_work_in_its_own_segment_is(reported):
    """A library's housekeeping (`untraced`) opens no spans and leaves the headers of what it
    sends alone; a task it runs (an entry span with `own_segment`) is traced, with its calls."""
    headers: dict = {'sw8': "the sender's"}
    with _common.untraced():
        with cache_exit_span('Redis/BRPOP', 'redis:6379', Component.Redis, cmd='BRPOP'):
            pass
        with mq_producer_span('RabbitMQ/Topic//Queue/q/Producer', 'mq:5672', 52, headers=headers):
            pass
        with mq_consumer_span('RabbitMQ/Topic//Queue/q/Consumer', 'mq:5672', 53) as delivery:
            assert delivery.is_noop  # the library's own receiving
            with mq_consumer_span('celery/task', 'mq:5672', Component.Celery, own_segment=True) as task:
                assert not task.is_noop
                with cache_exit_span('Redis/SET', 'redis:6379', Component.Redis, cmd='SET', key='k'):
                    pass
    assert headers == {'sw8': "the sender's"}
    [segment] = reported()
    assert [(s['operationName'], s['parentSpanId']) for s in segment['spans']] == [
        ('Redis/SET', 0),
        ('celery/task', -1),
    ]
    # Outside the scope, tracing goes on as before.
    with get_context().new_entry_span('/after'):
        pass
    assert sorted(s['spans'][-1]['operationName'] for s in reported()) == ['/after', 'celery/task']


def test_format_params_of_multidict_and_dict():
    class Multi(dict):
        def getlist(self, key):
            return self[key]

    assert format_params(Multi(a=['1', '2'], b=['3']), 1024) == 'a=[1,2]\nb=[3]'
    assert format_params({'a': ['1']}, 4) == 'a=[1'


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_a_failing_helper_gives_a_noop_span_and_logs_once(reported, monkeypatch):
    monkeypatch.setattr(_common, '_reported', set())
    handler = _Records()
    logger.addHandler(handler)
    try:
        results = []
        for _ in range(2):
            with wsgi_entry_span(None, Component.Flask) as span:  # type: ignore[arg-type]
                results.append(span.is_noop)
            with db_exit_span('x', 'p', 1, db_type='t', statement=object.__new__(_Unprintable)) as span:
                results.append(span.is_noop)
    finally:
        logger.removeHandler(handler)
    assert results == [True, True, True, True]
    warnings = [r.getMessage() for r in handler.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert reported() == []


class _Unprintable:
    def __str__(self):
        raise RuntimeError('no text')
