"""The scenario every web framework plugin shares, as test factories: a consumer calling a
provider (both of the framework, under `sw-python run`), a handler that raises, 404, an
ignored method and, for async frameworks, 50 concurrent requests.

A scenario folder has ``services/provider.py`` (routes ``/users`` GET and POST answering
``{"correlation": <the sw8-correlation value>}``, ``/error`` raising ``ValueError('the
handler failed on purpose')``, ``/item/<n>`` opening a local span ``/local/<n>`` after an
await) and ``services/consumer.py`` (``/users`` putting correlation ``correlation`` and
POSTing the provider's ``/users``; ``/error`` GETting the provider's ``/error`` and
answering 502 ``{"provider_status": <its status>}``), and ``expected/<name>.yml``. In the
test module::

    test_consumer_calls_provider = consumer_calls_provider(HERE, 'bottle.yml')

A framework served in several ways (Django: WSGI and ASGI) names them in ``servers``: the test
then runs once per server, with ``SERVER=<server>`` in its services' environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.conftest import free_port, http_get
from tests.plugins._scenario import (
    check_own_segments,
    concurrent_gets,
    entry_spans,
    expected,
    segments,
    settle,
    tags,
    wait_for_segments,
)

QUERY = 'test=test1&test=test2&test2=test2'


def start_pair(folder: Path, services, plugin_python, consumer_env: dict, env: dict) -> tuple[int, int]:
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', folder / 'services' / 'provider.py', provider_port, python=plugin_python, **env)
    services.start(
        'consumer',
        folder / 'services' / 'consumer.py',
        consumer_port,
        python=plugin_python,
        PROVIDER_PORT=str(provider_port),
        **consumer_env,
        **env,
    )
    return provider_port, consumer_port


def as_test(run: Callable[..., None], servers: Sequence[str]):
    """`run(services, collector, plugin_python, env)` as a test function: once with no extra
    environment, or once per server in `servers` with ``SERVER=<server>``."""
    if not servers:

        def test(services, collector, plugin_python):
            run(services, collector, plugin_python, {})

        return test

    @pytest.mark.parametrize('server', list(servers))
    def test_per_server(services, collector, plugin_python, server):
        run(services, collector, plugin_python, {'SERVER': server})

    return test_per_server


def consumer_calls_provider(
    folder: Path, name: str, query: str = '', consumer_env: dict | None = None, servers: Sequence[str] = (), **env
):
    def run(services, collector, plugin_python, server_env):
        both = {**env, **server_env}
        provider_port, consumer_port = start_pair(folder, services, plugin_python, consumer_env or {}, both)

        status, body = http_get(f'http://127.0.0.1:{consumer_port}/users{"?" + query if query else ""}')

        assert status == 200, services.logs()
        assert json.loads(body) == {'correlation': 'correlation'}, (body, services.logs())
        ok, reason = collector.validate(expected(folder, name, provider=provider_port, consumer=consumer_port))
        assert ok, f'{reason}\n{services.logs()}'

    return as_test(run, servers)


def handler_raises(folder: Path, name: str, traceback: bool = True, **env):
    """The provider's ``/error`` raises: its entry span is an error (with the traceback as its
    log when `traceback`), status 500, and the consumer sees 500."""

    def test_handler_that_raises_is_an_error_span(services, collector, plugin_python):
        provider_port, consumer_port = start_pair(folder, services, plugin_python, {}, env)

        status, body = http_get(f'http://127.0.0.1:{consumer_port}/error')

        assert status == 502, services.logs()
        assert json.loads(body)['provider_status'] == 500
        ok, reason = collector.validate(expected(folder, name, provider=provider_port, consumer=consumer_port))
        assert ok, f'{reason}\n{services.logs()}'
        if traceback:
            span = segments(collector, 'provider')[0]['spans'][0]
            assert 'ValueError: the handler failed on purpose' in span['logs'][0]['logEvent'][0]['value']

    return test_handler_that_raises_is_an_error_span


def handled_error(
    folder: Path,
    name: str,
    consumer_env: dict | None = None,
    servers: Sequence[str] = (),
    reraised_to_server: bool = False,
    **env,
):
    """The provider's ``/error`` raises and the framework's own 500 handling answers it. The
    provider's answer carries ``{"handled": true, "span": <the active span's operation>,
    "segment": <its segment id>}`` seen from inside that handler: it must have run inside the
    request's entry span, in the request's one segment, which is an error span with the
    traceback as its log. With `reraised_to_server`, the server logged the application's own
    exception (the agent re-raised it unchanged)."""

    def run(services, collector, plugin_python, server_env):
        both = {**env, **server_env}
        provider_port, consumer_port = start_pair(folder, services, plugin_python, consumer_env or {}, both)

        status, body = http_get(f'http://127.0.0.1:{consumer_port}/error')

        assert status == 502, services.logs()
        answer = json.loads(body)
        assert answer['provider_status'] == 500
        assert answer['provider']['handled'] is True
        assert answer['provider']['span'] == '/error'
        ok, reason = collector.validate(expected(folder, name, provider=provider_port, consumer=consumer_port))
        assert ok, f'{reason}\n{services.logs()}'
        provider_segments = segments(collector, 'provider')
        assert [segment['segmentId'] for segment in provider_segments] == [answer['provider']['segment']]
        traceback = provider_segments[0]['spans'][0]['logs'][0]['logEvent'][0]['value']
        assert 'ValueError: the handler failed on purpose' in traceback
        if reraised_to_server:
            assert 'ValueError: the handler failed on purpose' in services.logs()

    return as_test(run, servers)


def not_found(folder: Path, component: int, servers: Sequence[str] = (), **env):
    def run(services, collector, plugin_python, server_env):
        port = free_port()
        provider = folder / 'services' / 'provider.py'
        services.start('provider', provider, port, python=plugin_python, **env, **server_env)

        assert http_get(f'http://127.0.0.1:{port}/missing')[0] == 404

        settle(collector, 'provider', lambda found: len(found) >= 1)
        spans = entry_spans(collector, 'provider')
        assert len(spans) == 1, f'{spans}\n{services.logs()}'
        assert (spans[0]['operationName'], spans[0]['isError'], spans[0]['componentId']) == (
            '/missing',
            True,
            component,
        )
        assert tags(spans[0])['http.status_code'] == '404'

    return as_test(run, servers)


def ignored_method(folder: Path, servers: Sequence[str] = (), **env):
    def run(services, collector, plugin_python, server_env):
        port = free_port()
        provider = folder / 'services' / 'provider.py'
        ignore = {'SW_PLUGIN_HTTP_IGNORE_METHOD': 'POST'}
        services.start('provider', provider, port, python=plugin_python, **ignore, **env, **server_env)

        assert http_get(f'http://127.0.0.1:{port}/users', method='POST')[0] == 200
        assert http_get(f'http://127.0.0.1:{port}/users')[0] == 200

        settle(collector, 'provider', lambda found: len(found) >= 1)
        assert [tags(span)['http.method'] for span in entry_spans(collector, 'provider')] == ['GET'], services.logs()

    return as_test(run, servers)


def concurrent(folder: Path, count: int = 50, **env):
    def test_concurrent_requests_keep_their_own_segments(services, collector, plugin_python):
        port = free_port()
        services.start('provider', folder / 'services' / 'provider.py', port, python=plugin_python, **env)

        answers = concurrent_gets([f'http://127.0.0.1:{port}/item/{n}' for n in range(count)])

        assert [status for status, _ in answers] == [200] * count, services.logs()
        check_own_segments(wait_for_segments(collector, 'provider', count), count)

    return test_concurrent_requests_keep_their_own_segments
