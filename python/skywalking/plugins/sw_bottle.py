"""Entry spans for Bottle applications (`Bottle.__call__`), as upstream: component Bottle,
``http.params`` from the query with ``plugin_bottle_collect_http_params``, status from
Bottle's response. Under wsgiref (Bottle's default server) the environ gets
``REMOTE_PORT``, as upstream adds it, so that the peer has a port. A route's exception,
which Bottle answers with 500, is recorded with its traceback."""

from __future__ import annotations

from skywalking import Component, config
from skywalking.plugins._patch import patch
from skywalking.plugins._web import format_params, record_exception, wsgi_entry_span

link_vector = ['http://bottlepy.org/docs/dev/']
component = Component.Bottle
support_matrix = {'bottle': {'>=3.10': ['0.12', '0.13']}}
note = ''
hooked_modules = ['bottle']
version_rule = {'name': 'bottle', 'rules': ['>=0.12']}

_GENERAL = int(Component.General)
_BOTTLE = int(component)
_response = None
_http_error = None


def _params(environ: dict) -> str | None:
    if not (config.plugin_bottle_collect_http_params and environ.get('QUERY_STRING')):
        return None
    from bottle import BaseRequest

    query = BaseRequest(environ).query
    return format_params(query, config.plugin_http_http_params_length_threshold) if query else None


def _wrap_call(call):
    def _sw_call(this, environ, start_response):
        with wsgi_entry_span(environ, _BOTTLE, inherit=_GENERAL, params=_params(environ)) as span:
            result = call(this, environ, start_response)
            span.tag_http_status(_response.status_code)
            return result

    return _sw_call


def _wrap_handle(handle):
    def _sw_handle(this, environ):
        out = handle(this, environ)
        if isinstance(out, _http_error) and out.exception is not None:
            record_exception(out.exception)
        return out

    return _sw_handle


def _wrap_get_environ(get_environ):
    def _sw_get_environ(this):
        environ = get_environ(this)
        environ.setdefault('REMOTE_PORT', str(this.client_address[1]))
        return environ

    return _sw_get_environ


def install() -> None:
    global _response, _http_error
    from wsgiref.simple_server import WSGIRequestHandler

    from bottle import Bottle, HTTPError, response

    _response = response
    _http_error = HTTPError
    patch(Bottle, '__call__', _wrap_call)
    patch(Bottle, '_handle', _wrap_handle)
    patch(WSGIRequestHandler, 'get_environ', _wrap_get_environ)
