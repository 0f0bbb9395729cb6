"""Exit spans for `requests` calls, with `sw8` headers written into the request.

The headers are written where `http.client` sends the request (`skywalking.trace.http_wire`),
not added to the headers given to `requests`: the same two headers arrive at the server,
without the cost of `requests`' header handling.
"""

from __future__ import annotations

from skywalking import Component
from skywalking._core import get_context
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
        # What `http_exit_span(url, method, _REQUESTS)` does, without its frame (one per
        # call): both native calls never raise, and the `http.client` hook is in place
        # since install().
        span = get_context().new_http_exit_span(url, method, _REQUESTS, True)
        if span is None:  # inside another HTTP client's exit span: its span, its headers
            return request(this, method, url, *args, **kwargs)
        with span:
            response = request(this, method, url, *args, **kwargs)
            span.tag_http_status(response.status_code)
            return response

    return _sw_request


def install() -> None:
    from requests import Session

    ensure_wire()
    patch(Session, 'request', _wrap_request)
