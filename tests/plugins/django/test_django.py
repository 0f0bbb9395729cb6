"""The Django plugin: a Django consumer calling a Django provider under WSGI (runserver, as
upstream's scenario) and ASGI (uvicorn), a view that raises, a 404, an ignored method and
50 concurrent ASGI requests, on the Django version of `plugin_python`."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import free_port, http_get
from tests.plugins._scenario import settle, tags
from tests.plugins._web_pair import QUERY, concurrent, consumer_calls_provider, handled_error, ignored_method, not_found

HERE = Path(__file__).parent
PROVIDER = HERE / 'services' / 'provider.py'
SERVERS = ('wsgi', 'asgi')
PARAMS = {'SW_PLUGIN_DJANGO_COLLECT_HTTP_PARAMS': 'True'}

test_consumer_calls_provider = consumer_calls_provider(HERE, 'django.yml', QUERY, PARAMS, servers=SERVERS)
# Django's 500 handler ran inside the request's entry span, in the request's segment.
test_view_that_raises_is_an_error_span = handled_error(HERE, 'django_error.yml', PARAMS, servers=SERVERS)
test_not_found_is_an_error_span = not_found(HERE, 7004, servers=SERVERS)
test_ignored_method_is_not_traced = ignored_method(HERE, servers=SERVERS)
test_asgi_concurrent_requests_keep_their_own_segments = concurrent(HERE, SERVER='asgi')


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
