"""Exit spans for `requests` calls, with `sw8` headers written into the request.

The headers are written where `http.client` sends the request (`skywalking.trace.http_wire`),
not added to the headers given to `requests`: the same two headers arrive at the server,
without the cost of `requests`' header handling.
"""

from __future__ import annotations

from skywalking import Component
from skywalking.trace.context import get_context

link_vector = ['https://requests.readthedocs.io']
support_matrix = {'requests': {'>=3.10': ['2.31', '2.32', '2.34']}}
note = ''
hooked_modules = ['requests']
version_rule = {'name': 'requests', 'rules': ['>=2.20']}


def install() -> None:
    from requests import Session

    # Imported here, not at the top: plugin modules are read at start for their metadata,
    # and `http.client` brings in `ssl` (several MiB) in processes that never send HTTP.
    from skywalking.trace import http_wire

    if getattr(Session, '_sw_patched', False):
        return
    http_wire.install()
    _request = Session.request

    def _sw_request(this, method, url, *args, **kwargs):
        # Operation name, peer, layer, `http.method` and `http.url` in one native call; a
        # method in `plugin_http_ignore_method` gives a NoopSpan.
        with get_context().new_http_exit_span(url, method, Component.Requests, inject_on_send=True) as span:
            response = _request(this, method, url, *args, **kwargs)
            span.tag_http_status(response.status_code)
            return response

    Session.request = _sw_request
    Session._sw_patched = True
