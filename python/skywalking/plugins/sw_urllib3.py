"""Exit spans for urllib3 1.x (`RequestMethods.request`: `PoolManager`, `ProxyManager` and
connection pools), with `sw8` headers written where `http.client` sends the request.

urllib3 2.x is traced by `sw_urllib3_v2`. `requests` does not call `request()` (it calls
`urlopen`), so a `requests` call gives only the `requests` span; a `request()` made inside
another HTTP client's exit span gives none (see `skywalking.plugins._http`).
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking._core import inside_exit_span
from skywalking.plugins._http import http_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://urllib3.readthedocs.io/en/latest/']
component = Component.Urllib3
support_matrix = {'urllib3': {'>=3.10': ['1.25', '1.26']}}
note = 'urllib3 1.x; 2.x is traced by sw_urllib3_v2.'
hooked_modules = ['urllib3']

_URLLIB3 = int(component)


def absolute_url(pool: Any, url: str) -> str:
    """`url` as an absolute URL: a connection pool's ``request()`` takes a path."""
    if not isinstance(url, str) or '://' in url:
        return url
    scheme, host, port = getattr(pool, 'scheme', None), getattr(pool, 'host', None), getattr(pool, 'port', None)
    if not scheme or not host:
        return url
    if ':' in host and not host.startswith('['):
        host = f'[{host}]'  # IPv6
    netloc = host if port is None else f'{host}:{port}'
    return f'{scheme}://{netloc}{url}'


def wrap_request(request: Any) -> Any:
    def _sw_request(this, method, url, *args, **kwargs):
        if inside_exit_span():  # under another client's span (see skywalking.plugins._http)
            return request(this, method, url, *args, **kwargs)
        with http_exit_span(absolute_url(this, url), method, _URLLIB3) as span:
            response = request(this, method, url, *args, **kwargs)
            span.tag_http_status(response.status)
            return response

    return _sw_request


def install() -> None:
    try:
        from urllib3.request import RequestMethods
    except ImportError:
        return  # urllib3 2.x: sw_urllib3_v2
    patch(RequestMethods, 'request', wrap_request)
