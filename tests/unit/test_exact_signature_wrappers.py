"""A plugin wraps a hot library function with a wrapper of the same parameters when the
function has the known signature (`has_signature`; a ``*args, **kwargs`` wrapper costs every
call ~4,000 instructions more when the caller passes keywords), and with a generic wrapper,
which passes everything through, for any other signature: Elasticsearch 7's
`Transport.perform_request` is one."""

from __future__ import annotations

from skywalking.plugins import sw_elasticsearch
from skywalking.plugins._common import has_signature


def test_has_signature_compares_names_kinds_and_defaults():
    def f(self, a, b=1, *, c=None): ...

    assert has_signature(f, '(self, a, b=1, *, c=None)')
    assert not has_signature(f, '(self, a, b=2, *, c=None)')
    assert not has_signature(f, '(self, a, b=1, c=None)')
    assert not has_signature(len, '(self, a)')


class Transport:
    hosts = [{'host': 'localhost', 'port': 9200}]


def test_the_known_signature_gets_the_exact_wrapper_and_passes_every_argument():
    seen = []

    def perform_request(self, method, url, headers=None, params=None, body=None):
        seen.append((method, url, headers, params, body))
        return 'answered'

    wrapper = sw_elasticsearch._wrap_transport_request(perform_request)
    assert wrapper.__code__.co_varnames[:6] == ('this', 'method', 'url', 'headers', 'params', 'body')
    assert wrapper(Transport(), 'GET', '/i/_doc/1', params={'x': '1'}) == 'answered'
    assert seen.pop() == ('GET', '/i/_doc/1', None, {'x': '1'}, None)


def test_another_signature_gets_the_generic_wrapper_which_passes_everything_through():
    seen = []

    def perform_request(self, method, url, *args, **kwargs):
        seen.append((method, url, args, kwargs))
        return 'answered'

    assert not has_signature(perform_request, sw_elasticsearch._TRANSPORT_REQUEST)
    wrapper = sw_elasticsearch._wrap_transport_request(perform_request)
    assert wrapper(Transport(), 'POST', '/i/_search', {'h': 'v'}, body=b'{}', more=3) == 'answered'
    assert seen.pop() == ('POST', '/i/_search', ({'h': 'v'},), {'body': b'{}', 'more': 3})
