"""The Flask plugin's http.url tag, built from the WSGI environ, equals werkzeug's
`request.url` without the query (what upstream tags) for every kind of path and host."""

import itertools

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from skywalking.plugins.sw_flask import _url_without_query

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
    assert _url_without_query(Request(environ)) == Request(environ).url.split('?', 1)[0]
