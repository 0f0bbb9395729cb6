"""Entry spans for Tornado request handlers (`RequestHandler._execute`); a handler's
exception, which Tornado logs through `log_exception` and answers with 500, is recorded
with its traceback on the request's span."""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._patch import patch
from skywalking.plugins._web import http_entry_scope, record_exception

link_vector = ['https://www.tornadoweb.org']
component = Component.Tornado
support_matrix = {'tornado': {'>=3.10': ['6.0', '6.6']}}
note = ''
hooked_modules = ['tornado.web']
version_rule = {'name': 'tornado', 'rules': ['>=6.0']}

_TORNADO = int(component)


def _peer(request: Any) -> str | None:
    address = getattr(getattr(request.connection, 'context', None), 'address', None)
    if isinstance(address, (list, tuple)) and len(address) >= 2:
        return f'{address[0]}:{address[1]}'
    return None


def _header(headers: Any, name: str) -> str | None:
    # `get_list` finds a missing header without raising: `HTTPHeaders.get` is
    # `MutableMapping.get`, which catches a KeyError for each absent trace header (about
    # 5,000 instructions each, on every request that arrives without them).
    values = headers.get_list(name)
    return values[0] if values else None


def _wrap_execute(execute):
    async def _sw_execute(this, *args, **kwargs):
        request = this.request
        path = request.path
        headers = request.headers
        scope = http_entry_scope(
            _TORNADO,
            request.method,
            path,
            _header(headers, 'sw8'),
            _header(headers, 'sw8-correlation'),
            _peer(request),
            f'{request.protocol}://{request.host}{path}',
        )
        with scope as span:
            result = execute(this, *args, **kwargs)
            if result is not None and hasattr(result, '__await__'):
                result = await result
            span.tag_http_status(this.get_status())
            return result

    return _sw_execute


def _wrap_log_exception(log_exception):
    def _sw_log_exception(this, typ, value, tb, *args, **kwargs):
        record_exception(value)
        return log_exception(this, typ, value, tb, *args, **kwargs)

    return _sw_log_exception


def install() -> None:
    from tornado.web import RequestHandler

    patch(RequestHandler, '_execute', _wrap_execute)
    patch(RequestHandler, 'log_exception', _wrap_log_exception)
