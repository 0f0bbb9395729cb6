"""Entry spans for Flask requests.

The span takes over an entry span that a server plugin opened (werkzeug's development
server, `http.server`), renaming it to the request path and tagging it as Flask.
"""

from __future__ import annotations

import re

from skywalking import Component, Layer, config
from skywalking.trace.context import get_context
from skywalking.trace.span import NoopSpan
from skywalking.trace.tags import TagHttpMethod, TagHttpParams, TagHttpStatusCode, TagHttpURL

link_vector = ['https://flask.palletsprojects.com']
support_matrix = {'flask': {'>=3.10': ['2.3', '3.0', '3.1']}}
note = ''
hooked_modules = ['flask']
version_rule = {'name': 'flask', 'rules': ['>=2.0']}


# Path characters werkzeug leaves unquoted when it builds `request.url`; a path made only of
# these (the common case) gives the same URL without werkzeug's slower general route.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]*")
_DEFAULT_PORTS = {'http': ':80', 'https': ':443'}


def _url_without_query(request) -> str:
    """`request.url.split('?')[0]` (upstream's http.url tag), built from the WSGI environ
    when that is certain to give the same text, which costs a fraction of werkzeug's way."""
    environ = request.environ
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    host = environ.get('HTTP_HOST')
    scheme = environ.get('wsgi.url_scheme', 'http')
    if host and _PLAIN_PATH.fullmatch(path) and _PLAIN_PATH.fullmatch(host) and scheme in _DEFAULT_PORTS:
        default_port = _DEFAULT_PORTS[scheme]
        if host.endswith(default_port):
            host = host[: -len(default_port)]
        return f'{scheme}://{host.lower()}{path or "/"}'
    return request.url.split('?', 1)[0]


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
        if config.ignore_http_method_check(method):
            span = NoopSpan()
        else:
            span = get_context().new_entry_span(
                request.path,
                inherit=Component.General,
                sw8=environ.get('HTTP_SW8'),
                correlation=environ.get('HTTP_SW8_CORRELATION'),
            )
        with span:
            span.layer = Layer.Http
            span.component = Component.Flask
            if 'REMOTE_ADDR' in environ and 'REMOTE_PORT' in environ:
                span.peer = f'{environ["REMOTE_ADDR"]}:{environ["REMOTE_PORT"]}'
            span.tag(TagHttpMethod(method))
            span.tag(TagHttpURL(_url_without_query(request)))
            if config.plugin_flask_collect_http_params and request.values:
                threshold = config.plugin_http_http_params_length_threshold
                span.tag(TagHttpParams(_params_to_string(request.values)[0:threshold]))
            response = _full_dispatch_request(this)
            if response.status_code >= 400:
                span.error_occurred = True
            span.tag(TagHttpStatusCode(response.status_code))
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
