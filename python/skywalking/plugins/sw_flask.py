"""Entry spans for Flask requests.

The span takes over an entry span that a server plugin opened (werkzeug's development
server, `http.server`), renaming it to the request path and tagging it as Flask.
"""

from __future__ import annotations

from skywalking import Component, config
from skywalking.plugins._patch import patch
from skywalking.plugins._web import format_params, wsgi_entry_span
from skywalking.trace.context import get_context

link_vector = ['https://flask.palletsprojects.com']

#: What the plugin reports (General below is only the marker of a server plugin's span it reuses).
component = Component.Flask
support_matrix = {'flask': {'>=3.10': ['2.0', '2.1', '2.2', '2.3', '3.0', '3.1']}}
note = ''
hooked_modules = ['flask']
version_rule = {'name': 'flask', 'rules': ['>=2.0']}

# Plain ints, looked up once: passed on every request.
_GENERAL = int(Component.General)
_FLASK = int(component)
_request_proxy = None
#: `flask.globals._cv_request.get` (Flask 2.2+): the request context without werkzeug's
#: LocalProxy (a Python frame per lookup); None before 2.2, where the proxy is asked.
_request_context = None


def _request_url(environ) -> str:
    """``http.url`` as werkzeug builds ``request.url``, for environs the native path leaves."""
    return _request_proxy.url.split('?', 1)[0]


def _mark_raised() -> None:
    span = get_context().active_span
    if span is not None and not span.is_noop:
        span.raised()


def _wrap_dispatch(full_dispatch_request):
    def _sw_full_dispatch_request(this):
        # One proxy lookup, then plain attributes: werkzeug's LocalProxy costs a lookup per
        # access, and EnvironHeaders raises and catches KeyError for every absent header.
        if _request_context is not None:
            request = _request_context().request
        else:
            request = _request_proxy._get_current_object()
        params = None
        if config.plugin_flask_collect_http_params and request.values:
            params = format_params(request.values, config.plugin_http_http_params_length_threshold)
        # By position (environ, component, method, op, inherit, url, params, start): cheaper
        # than keywords. Started in the same call, and left by one call that also records the
        # status: two calls into `_core` per request instead of four.
        scope = wsgi_entry_span(
            request.environ, _FLASK, request.method, request.path, _GENERAL, _request_url, params, True
        )
        try:
            response = full_dispatch_request(this)
            scope.finish_with_status(response.status_code)  # never raises
        except BaseException as error:
            scope.__exit__(type(error), error, error.__traceback__)
            raise
        return response

    return _sw_full_dispatch_request


def _wrap_handler(handle):
    def _sw_handle(this, e):
        if e is not None:
            _mark_raised()
        return handle(this, e)

    return _sw_handle


def install() -> None:
    global _request_proxy, _request_context
    from flask import Flask
    from flask import request as request_proxy

    _request_proxy = request_proxy
    try:
        from flask.globals import _cv_request

        _request_context = _cv_request.get
    except ImportError:  # Flask before 2.2
        _request_context = None
    patch(Flask, 'full_dispatch_request', _wrap_dispatch)
    patch(Flask, 'handle_user_exception', _wrap_handler)
    patch(Flask, 'handle_exception', _wrap_handler)
