"""Exit spans for `urllib.request` (`urlopen` and openers), with `sw8` headers injected."""

from __future__ import annotations

from skywalking import Component
from skywalking.plugins._http import http_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://docs.python.org/3/library/urllib.request.html']
component = Component.General
support_matrix = {'urllib_request': {'>=3.10': ['*']}}
note = ''
hooked_modules = ['urllib.request']

_GENERAL = int(component)


def install() -> None:
    import socket
    from urllib.error import HTTPError
    from urllib.request import OpenerDirector, Request

    def _wrap_open(open_):
        def _sw_open(this, fullurl, data=None, timeout=socket._GLOBAL_DEFAULT_TIMEOUT):
            if isinstance(fullurl, str):
                fullurl = Request(fullurl, data)
            method = getattr(fullurl, 'method', None) or ('GET' if data is None and fullurl.data is None else 'POST')
            # The trace headers are written as http.client sends the request, as for requests.
            with http_exit_span(fullurl.full_url, method, _GENERAL) as span:
                code = None
                try:
                    response = open_(this, fullurl, data, timeout)
                    code = response.code
                    return response
                except HTTPError as error:
                    code = error.code
                    raise
                finally:
                    if code is not None:
                        span.tag_http_status(code)

        return _sw_open

    patch(OpenerDirector, 'open', _wrap_open)
