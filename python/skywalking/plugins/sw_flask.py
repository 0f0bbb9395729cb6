"""Entry spans for Flask requests.

The span takes over an entry span that a server plugin opened (werkzeug's development
server, `http.server`), renaming it to the request path and tagging it as Flask.
"""

from __future__ import annotations

from skywalking import Component, config
from skywalking._core import wsgi_entry_span
from skywalking.trace.context import get_context
from skywalking.trace.span import NoopSpan
from skywalking.trace.tags import TagHttpParams, TagHttpURL

link_vector = ['https://flask.palletsprojects.com']

#: What the plugin reports (General below is only the marker of a server plugin's span it reuses).
component = Component.Flask

# Plain ints, looked up once: passed on every request.
_GENERAL = int(Component.General)
_FLASK = int(component)
support_matrix = {'flask': {'>=3.10': ['2.3', '3.0', '3.1']}}
note = ''
hooked_modules = ['flask']
version_rule = {'name': 'flask', 'rules': ['>=2.0']}


def _params_to_string(params) -> str:
    return '\n'.join(f'{key}=[{",".join(params.getlist(key))}]' for key in params.keys())


def _mark_raised() -> None:
    span = get_context().active_span
    if span is not None and not isinstance(span, NoopSpan):
        span.raised()


def install() -> None:
    from flask import Flask

    if getattr(Flask, '_sw_patched', False):
        return
    _full_dispatch_request = Flask.full_dispatch_request
    _handle_user_exception = Flask.handle_user_exception
    _handle_exception = Flask.handle_exception

    from flask import request as request_proxy

    def _sw_full_dispatch_request(this):
        # One proxy lookup, then plain attributes: werkzeug's LocalProxy costs a lookup per
        # access, and EnvironHeaders raises and catches KeyError for every absent header.
        request = request_proxy._get_current_object()
        environ = request.environ
        method = request.method
        # The trace headers are read from the environ, plugin_http_ignore_method is checked,
        # and the span is started with its component, layer, peer, http.method and http.url,
        # in two native calls; the URL falls back to werkzeug when the environ alone cannot
        # say what `request.url` would be. Written out instead of `with span:` (the same
        # protocol), since the span is started by `start_wsgi`.
        span = wsgi_entry_span(request.path, environ, method, _GENERAL)
        url_known = span.start_wsgi(environ, method, _FLASK)
        try:
            if not url_known:
                span.set_tag(TagHttpURL.key, request.url.split('?', 1)[0])
            if config.plugin_flask_collect_http_params and request.values:
                threshold = config.plugin_http_http_params_length_threshold
                span.set_tag(TagHttpParams.key, _params_to_string(request.values)[0:threshold])
            response = _full_dispatch_request(this)
            span.tag_http_status(response.status_code)
        except BaseException as error:
            span.__exit__(type(error), error, error.__traceback__)
            raise
        span.__exit__(None, None, None)
        return response

    def _sw_handle_user_exception(this, e):
        if e is not None:
            _mark_raised()
        return _handle_user_exception(this, e)

    def _sw_handle_exception(this, e):
        if e is not None:
            _mark_raised()
        return _handle_exception(this, e)

    Flask.full_dispatch_request = _sw_full_dispatch_request
    Flask.handle_user_exception = _sw_handle_user_exception
    Flask.handle_exception = _sw_handle_exception
    Flask._sw_patched = True
