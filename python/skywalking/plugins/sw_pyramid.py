"""Entry spans for Pyramid requests (`Router.invoke_request`), as upstream: component
Pyramid, peer ``REMOTE_HOST`` or ``REMOTE_ADDR``. An exception no exception view handles
leaves Pyramid for the WSGI server (which answers 500): it is recorded with its traceback
and status 500, and re-raised unchanged."""

from __future__ import annotations

import re
from typing import Any

from skywalking import Component
from skywalking.plugins._patch import patch
from skywalking.plugins._web import wsgi_entry_span, wsgi_request_url

link_vector = ['https://trypyramid.com']
component = Component.Pyramid
support_matrix = {'pyramid': {'>=3.10': ['1.10', '2.0', '2.1']}}
note = ''
hooked_modules = ['pyramid.router']
version_rule = {'name': 'pyramid', 'rules': ['>=1.10']}

_GENERAL = int(Component.General)
_PYRAMID = int(component)
# The characters that WebOb's `Request.path` (urllib's quote with its PATH_SAFE) leaves as
# they are: a path of only these is its own `request.path`, which costs ~20,000 instructions
# a request to compute (bench/plugin_cost.py).
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~/!$&'()*+,;=:@-]*")


def _path(request, environ: dict) -> str:
    raw = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    if _UNQUOTED.fullmatch(raw):
        return raw
    return request.path


def _wrap_invoke_request(invoke_request):
    def _sw_invoke_request(this, request, *args, **kwargs):
        environ = request.environ
        scope = wsgi_entry_span(
            environ,
            _PYRAMID,
            method=request.method,
            op=_path(request, environ),
            inherit=_GENERAL,
            url=wsgi_request_url,
        )
        with scope as span:
            span.peer = environ.get('REMOTE_HOST') or environ.get('REMOTE_ADDR') or ''
            try:
                response: Any = invoke_request(this, request, *args, **kwargs)
            except Exception:
                span.tag_http_status(500)
                raise
            span.tag_http_status(response.status_code)
            return response

    return _sw_invoke_request


def install() -> None:
    from pyramid.router import Router

    patch(Router, 'invoke_request', _wrap_invoke_request)
