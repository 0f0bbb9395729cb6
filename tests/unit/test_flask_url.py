"""The Flask plugin's http.url tag, built natively from the WSGI environ, equals werkzeug's
`request.url` without the query (what upstream tags) for every kind of path and host; where
the environ alone cannot tell, the native builder declines and the plugin asks werkzeug."""

import itertools
import re

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from skywalking import _core

# What werkzeug leaves as it is in a URL.
PLAIN = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]*")
PATHS = ['/users/42', '/a b', '/ünï', '', '/%41', '/p;q=1', '/x/', "/it's", '/~x', '/a+b', '/q']
HOSTS = ['Mixed.Case:9090', 'h:80', 'h:443', '[::1]:8080', 'h', None]


@pytest.mark.parametrize('path, host, scheme', list(itertools.product(PATHS, HOSTS, ['http', 'https'])))
def test_same_url_as_werkzeug(path, host, scheme):
    environ = EnvironBuilder(path=path or '/', base_url=f'{scheme}://127.0.0.1', query_string='a=1').get_environ()
    environ['wsgi.url_scheme'] = scheme
    if host is None:
        environ.pop('HTTP_HOST', None)
    else:
        environ['HTTP_HOST'] = host
    if not path:
        environ['PATH_INFO'] = ''
    werkzeug_url = Request(environ).url.split('?', 1)[0]
    native = _core.wsgi_url(environ)
    if native is None:
        # Declined only without a Host, or for characters werkzeug quotes or rewrites.
        assert not (host and PLAIN.fullmatch(path) and PLAIN.fullmatch(host))
    else:
        assert native == werkzeug_url


@pytest.mark.parametrize('path', ['/users/42', '/x/', '', "/it's"])
def test_plain_requests_take_the_native_path(path):
    environ = EnvironBuilder(path=path or '/', base_url='http://Example.COM:80').get_environ()
    environ['PATH_INFO'] = path
    assert _core.wsgi_url(environ) == Request(environ).url.split('?', 1)[0]
