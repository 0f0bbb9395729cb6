"""sw_http_client's wrappers take `http.client`'s own parameters where they are the known ones
(a ``*args, **kwargs`` wrapper costs every request ~4,000 instructions more), and fall back to
the generic wrappers, which pass everything through, for any other signature."""

from __future__ import annotations

import http.client
import inspect

import pytest

from skywalking.plugins import sw_http_client
from skywalking.plugins._common import has_signature


def parameters(function) -> str:
    return str(inspect.signature(function)).replace('(this,', '(self,')


@pytest.mark.parametrize('name', ['request', 'putrequest'])
def test_the_wrappers_of_this_pythons_http_client_take_its_parameters(name):
    original = getattr(http.client.HTTPConnection, name)
    original = getattr(original, '__wrapped__', original)  # when the agent is installed here
    wrapper = getattr(sw_http_client, f'_wrap_{name}')(original)
    assert parameters(wrapper) == str(inspect.signature(original))
    assert '*' not in parameters(wrapper).replace('*,', '')  # no *args / **kwargs


def test_the_request_wrapper_passes_the_originals_own_default_headers():
    wrapper = sw_http_client._wrap_request(http.client.HTTPConnection.request)
    default = inspect.signature(http.client.HTTPConnection.request).parameters['headers'].default
    assert inspect.signature(wrapper).parameters['headers'].default is default


class Connection:
    pass


def test_another_signature_gets_the_generic_wrappers_which_pass_everything_through():
    seen = []

    def request(self, method, url, body=None, headers=None, *, extra=1):
        seen.append((method, url, body, headers, extra))
        return 'sent'

    def putrequest(self, method, url, *args, **kwargs):
        seen.append((method, url, args, kwargs))

    assert not has_signature(request, sw_http_client._REQUEST)
    wrapped = sw_http_client._wrap_request(request)
    assert wrapped(Connection(), 'GET', '/a', b'x', extra=2) == 'sent'
    assert seen.pop() == ('GET', '/a', b'x', None, 2)
    sw_http_client._wrap_putrequest(putrequest)(Connection(), 'PUT', '/b', True, more=3)
    assert seen.pop() == ('PUT', '/b', (True,), {'more': 3})


def test_has_signature_compares_names_kinds_and_defaults():
    def f(self, a, b=1, *, c=None): ...

    assert has_signature(f, '(self, a, b=1, *, c=None)')
    assert not has_signature(f, '(self, a, b=2, *, c=None)')
    assert not has_signature(f, '(self, a, b=1, c=None)')
    assert not has_signature(len, '(self, a)')
