"""HTTP client exit spans: operation name, peer and http.url are what upstream's plugins take
from `urlparse` without credentials (`sw_urlparse`), whether the native core splits the URL
itself or hands it to Python. Checked on hand-picked shapes and on random ones."""

import random

import pytest

from skywalking import Component
from skywalking.trace.context import get_context
from skywalking.utils.filter import sw_urlparse

SHAPES = [
    'http://127.0.0.1:8080/users/1',
    'https://example.com',
    'http://example.com/',
    'http://example.com?a=1',
    'http://example.com/a/b?x=1&y=2',
    'http://Example.COM:80/A%20B',
    'http://h/a?b?c',
    'http://user:pw@host/a?q=1',
    'http://user@host:81',
    'http://[::1]:80/a',
    'http://host/a;params?q',
    'http://host/a;',
    'http://host/a#frag',
    'http://host/a?',
    'http://host/a b',
    'http://host/a\tb',
    ' http://host/a ',
    'http://hóst/ä',
    'HTTP://Host/a',
    'ftp://host/a',
    'http:///a',
    'http://?a=1',
    'host/a',
    'http://h//double//slash',
]


def expected(url):
    parsed = sw_urlparse(url)
    return parsed.path or '/', parsed.netloc, parsed.geturl()


def recorded(url, method='get'):
    span = get_context().new_http_exit_span(url, method, Component.Requests)
    return span.op, span.peer, dict(span.tags)['http.url']


@pytest.mark.parametrize('url', SHAPES)
def test_same_parts_as_urlparse(url):
    assert recorded(url) == expected(url)


def test_same_parts_as_urlparse_for_random_urls():
    rng = random.Random(20261126)
    pieces = ['http://', 'https://', 'h', 'H', '1', '.', ':', '8', '/', '?', '#', ';', '@', '=', '&', '%2F']
    pieces += [' ', 'é', '[', ']']
    for _ in range(3000):
        url = ''.join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        try:
            want = expected(url)
        except ValueError:  # urlparse rejects it (a bad IPv6 host): the span is a NoopSpan
            assert get_context().new_http_exit_span(url, 'GET', Component.Requests).is_noop, url
            continue
        assert recorded(url) == want, url


def test_bytes_urls_are_decoded_as_requests_decodes_them():
    assert recorded(b'http://h:1/p?q') == ('/p', 'h:1', 'http://h:1/p?q')


class Method:
    def __str__(self) -> str:
        return 'patch'


def test_method_is_upper_cased_and_any_type_is_text():
    span = get_context().new_http_exit_span('http://h/p', Method(), Component.Requests)
    assert dict(span.tags)['http.method'] == 'PATCH'
    assert span.layer == 3  # Http
    assert span.component == Component.Requests


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError('no text')


def test_a_method_without_text_never_raises_from_the_agent():
    span = get_context().new_http_exit_span('http://h/p', Unprintable(), Component.Requests)
    assert dict(span.tags)['http.method'] == ''
