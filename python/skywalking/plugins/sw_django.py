"""Entry spans for Django requests, under WSGI (`BaseHandler.get_response`) and ASGI
(`BaseHandler.get_response_async`, which upstream does not trace).

A view that raises reaches Django's `handle_uncaught_exception`, which turns it into a 500
answer; the wrapper there records the exception's traceback on the request's entry span
(from the exception it is given, so it works in the worker thread ASGI Django runs it in).
Under a server plugin's span (werkzeug's development server) the Django span takes it over
instead of nesting a second entry span.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component, config
from skywalking.plugins._patch import patch
from skywalking.plugins._web import asgi_entry_span, format_params, record_exception, wsgi_entry_span, wsgi_request_url

link_vector = ['https://www.djangoproject.com/']
component = Component.Django
support_matrix = {'django': {'>=3.10': ['3.2', '4.2', '5.2']}}
note = 'WSGI and ASGI (upstream traces WSGI only).'
hooked_modules = ['django.core.handlers.base']
version_rule = {'name': 'django', 'rules': ['>=3.2']}

_GENERAL = int(Component.General)
_DJANGO = int(component)


def _absolute_url(request: Any) -> str:
    """``request.build_absolute_uri()`` without its query, as upstream records ``http.url``;
    asked only when the environ alone cannot say it (a Django that refuses the host, e.g. one
    not in ``ALLOWED_HOSTS``, gets the URL rebuilt from the environ instead of an error)."""
    try:
        return request.build_absolute_uri().split('?', 1)[0]
    except Exception:
        return wsgi_request_url(request.META)


def _params(request: Any) -> str | None:
    # Upstream reads request.GET whatever the method (the query string's parameters).
    if request.GET:
        return format_params(request.GET, config.plugin_http_http_params_length_threshold)
    return None


def _wrap_get_response(get_response):
    def _sw_get_response(this, request):
        if request is None:
            return get_response(this, request)
        meta = request.META
        params = _params(request) if config.plugin_django_collect_http_params else None
        # By position (environ, component, method, op, inherit, url, params): cheaper than
        # keywords. `url` is asked only when the environ alone cannot say the URL.
        url = lambda _environ: _absolute_url(request)  # noqa: E731
        with wsgi_entry_span(meta, _DJANGO, request.method, request.path, _GENERAL, url, params) as span:
            if 'REMOTE_PORT' not in meta:  # runserver (wsgiref) sets none; upstream says 80
                span.peer = f'{meta.get("REMOTE_ADDR")}:80'
            response = get_response(this, request)
            span.tag_http_status(response.status_code)
            return response

    return _sw_get_response


def _wrap_get_response_async(get_response_async):
    async def _sw_get_response_async(this, request):
        if request is None:
            return await get_response_async(this, request)
        params = _params(request) if config.plugin_django_collect_http_params else None
        # By position (scope, component, method, op, inherit, url, peer, params); the peer is
        # the scope's client, which is what Django puts in REMOTE_ADDR and REMOTE_PORT.
        scope = asgi_entry_span(request.scope, _DJANGO, request.method, request.path, _GENERAL, None, None, params)
        with scope as span:
            response = await get_response_async(this, request)
            span.tag_http_status(response.status_code)
            return response

    return _sw_get_response_async


def _wrap_handle_uncaught_exception(handle):
    def _sw_handle_uncaught_exception(request, resolver, exc_info):
        if exc_info is not None:
            record_exception(exc_info[1])
        return handle(request, resolver, exc_info)

    return _sw_handle_uncaught_exception


def install() -> None:
    from django.core.handlers import exception
    from django.core.handlers.base import BaseHandler

    patch(BaseHandler, 'get_response', _wrap_get_response)
    if hasattr(BaseHandler, 'get_response_async'):
        patch(BaseHandler, 'get_response_async', _wrap_get_response_async)
    patch(exception, 'handle_uncaught_exception', _wrap_handle_uncaught_exception)
