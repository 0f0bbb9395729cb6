"""The Django plugin: a Django consumer calling a Django provider under WSGI (runserver, as
upstream's scenario) and ASGI (uvicorn), a view that raises, a 404, an ignored method and
50 concurrent ASGI requests, on the Django version of `plugin_python`."""

from __future__ import annotations

import json
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

HERE = Path(__file__).parent
PROVIDER = HERE / 'services' / 'provider.py'
CONSUMER = HERE / 'services' / 'consumer.py'


def start_pair(services, plugin_python, server: str, **env) -> tuple[int, int]:
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', PROVIDER, provider_port, python=plugin_python, SERVER=server, **env)
    services.start(
        'consumer',
        CONSUMER,
        consumer_port,
        python=plugin_python,
        PROVIDER_PORT=str(provider_port),
        SW_PLUGIN_DJANGO_COLLECT_HTTP_PARAMS='True',
        **env,
    )
    return provider_port, consumer_port


@pytest.mark.parametrize('server', ['wsgi', 'asgi'])
def test_consumer_calls_provider(services, collector, plugin_python, server):
    provider_port, consumer_port = start_pair(services, plugin_python, server)

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/users?test=test1&test=test2&test2=test2')

    assert status == 200
    assert json.loads(body) == {'correlation': 'correlation'}
    ok, reason = collector.validate(expected(HERE, 'django.yml', provider=provider_port, consumer=consumer_port))
    assert ok, f'{reason}\n{services.logs()}'


@pytest.mark.parametrize('server', ['wsgi', 'asgi'])
def test_view_that_raises_is_an_error_span(services, collector, plugin_python, server):
    provider_port, consumer_port = start_pair(services, plugin_python, server)

    status, body = http_get(f'http://127.0.0.1:{consumer_port}/error')

    assert status == 502
    answer = json.loads(body)
    assert answer['provider_status'] == 500
    # Django's 500 handler ran inside the request's entry span, in the request's segment.
    assert answer['provider']['handled'] is True
    assert answer['provider']['span'] == '/error'
    ok, reason = collector.validate(expected(HERE, 'django_error.yml', provider=provider_port, consumer=consumer_port))
    assert ok, f'{reason}\n{services.logs()}'
    provider_segments = segments(collector, 'provider')
    assert [segment['segmentId'] for segment in provider_segments] == [answer['provider']['segment']]
    traceback = provider_segments[0]['spans'][0]['logs'][0]['logEvent'][0]['value']
    assert 'ValueError: the handler failed on purpose' in traceback


@pytest.mark.parametrize('server', ['wsgi', 'asgi'])
def test_not_found_is_an_error_span(services, collector, plugin_python, server):
    port = free_port()
    services.start('provider', PROVIDER, port, python=plugin_python, SERVER=server)

    assert http_get(f'http://127.0.0.1:{port}/missing')[0] == 404

    spans = settle(collector, 'provider', lambda found: len(found) >= 1)
    spans = entry_spans(collector, 'provider')
    assert len(spans) == 1, f'{spans}\n{services.logs()}'
    assert spans[0]['operationName'] == '/missing'
    assert spans[0]['isError'] is True
    assert tags(spans[0])['http.status_code'] == '404'
    assert spans[0]['componentId'] == 7004


@pytest.mark.parametrize('server', ['wsgi', 'asgi'])
def test_ignored_method_is_not_traced(services, collector, plugin_python, server):
    port = free_port()
    services.start('provider', PROVIDER, port, python=plugin_python, SERVER=server, SW_PLUGIN_HTTP_IGNORE_METHOD='POST')

    assert http_get(f'http://127.0.0.1:{port}/users', method='POST')[0] == 200
    assert http_get(f'http://127.0.0.1:{port}/users')[0] == 200

    settle(collector, 'provider', lambda found: len(found) >= 1)
    methods = [tags(span)['http.method'] for span in entry_spans(collector, 'provider')]
    assert methods == ['GET'], services.logs()


def test_asgi_concurrent_requests_keep_their_own_segments(services, collector, plugin_python):
    port = free_port()
    services.start('provider', PROVIDER, port, python=plugin_python, SERVER='asgi')

    answers = concurrent_gets([f'http://127.0.0.1:{port}/item/{n}' for n in range(50)])

    assert [status for status, _ in answers] == [200] * 50
    check_own_segments(wait_for_segments(collector, 'provider', 50), 50)


def test_under_werkzeug_one_entry_span(services, collector, plugin_python):
    """werkzeug's server opens a General entry span (sw_http_server); Django takes it over."""
    port = free_port()
    services.start('provider', PROVIDER, port, python=plugin_python, SERVER='werkzeug')

    assert http_get(f'http://127.0.0.1:{port}/users')[0] == 200

    found = settle(collector, 'provider', lambda found: len(found) >= 1)
    assert len(found) == 1, services.logs()
    spans = found[0]['spans']
    assert [(span['spanType'], span['componentId'], span['operationName']) for span in spans] == [
        ('Entry', 7004, '/users')
    ]
    assert list(tags(spans[0])) == ['http.method', 'http.url', 'http.status_code']
