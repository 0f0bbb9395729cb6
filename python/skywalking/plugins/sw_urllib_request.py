"""Exit spans for `urllib.request` (`urlopen` and openers), with `sw8` headers injected."""

from __future__ import annotations

from skywalking import Component, Layer
from skywalking.trace.context import get_context
from skywalking.trace.tags import TagHttpMethod, TagHttpURL

link_vector = ['https://docs.python.org/3/library/urllib.request.html']
support_matrix = {'urllib_request': {'>=3.10': ['*']}}
note = ''
hooked_modules = ['urllib.request']


def install() -> None:
    import socket
    from urllib.error import HTTPError
    from urllib.request import OpenerDirector, Request

    if getattr(OpenerDirector, '_sw_patched', False):
        return
    _open = OpenerDirector.open

    def _sw_open(this, fullurl, data=None, timeout=socket._GLOBAL_DEFAULT_TIMEOUT):
        if isinstance(fullurl, str):
            fullurl = Request(fullurl, data)
        op = fullurl.selector.split('?', 1)[0] if fullurl.selector else '/'
        method = getattr(fullurl, 'method', None) or ('GET' if data is None and fullurl.data is None else 'POST')
        span = get_context().new_exit_span(op, fullurl.host, Component.General, method=method)
        with span:
            span.layer = Layer.Http
            for key, value in span.inject_headers():
                fullurl.add_header(key, value)
            code = None
            try:
                response = _open(this, fullurl, data, timeout)
                code = response.code
                return response
            except HTTPError as error:
                code = error.code
                raise
            finally:
                span.set_tag(TagHttpMethod.key, method)
                span.set_tag(TagHttpURL.key, fullurl.full_url)
                if code is not None:
                    span.tag_http_status(code)

    OpenerDirector.open = _sw_open
    OpenerDirector._sw_patched = True
