"""Exit spans for `requests` calls, with `sw8` headers written into the request.

The headers are written where `http.client` sends the request (`skywalking.trace.http_wire`),
not added to the headers given to `requests`: the same two headers arrive at the server,
without the cost of `requests`' header handling.
"""

from __future__ import annotations

from skywalking import Component
from skywalking._core import request_exit_span
from skywalking.plugins._http import ensure_wire
from skywalking.plugins._patch import patch

link_vector = ['https://requests.readthedocs.io']
component = Component.Requests
support_matrix = {
    'requests': {'>=3.10': ['2.25', '2.26', '2.27', '2.28', '2.29', '2.30', '2.31', '2.32', '2.33', '2.34']}
}
note = ''
hooked_modules = ['requests']
version_rule = {'name': 'requests', 'rules': ['>=2.20']}

_REQUESTS = int(component)


def _wrap_request(request):
    def _sw_request(this, method, url, *args, **kwargs):
        # What `http_exit_span(url, method, _REQUESTS)` and `with` do, in two calls into
        # `_core` instead of five (get_context, new_http_exit_span, __enter__,
        # tag_http_status, __exit__); neither raises, and the `http.client` hook is in place
        # since install().
        span = request_exit_span(url, method, _REQUESTS, True)  # started
        if span is None:  # inside another HTTP client's exit span: its span, its headers
            return request(this, method, url, *args, **kwargs)
        try:
            response = request(this, method, url, *args, **kwargs)
        except BaseException as error:
            span.__exit__(type(error), error, error.__traceback__)
            raise
        span.finish_with_status(response.status_code)
        return response

    return _sw_request


def install() -> None:
    from requests import Session

    ensure_wire()
    patch(Session, 'request', _wrap_request)
