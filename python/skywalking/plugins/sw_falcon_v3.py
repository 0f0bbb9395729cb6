"""Entry spans for Falcon 3 and 4 WSGI applications (`falcon.App.__call__`).

As upstream: ``http.params`` always (the query's arguments, ``k=v`` joined by commas, a
repeated argument as its list), ``http.status_code`` and ``http.status_msg`` from the
status line, peer ``REMOTE_ADDR``. A responder's exception, which Falcon answers with 500
through its default error handler, is recorded with its traceback.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from skywalking import Component, config
from skywalking.plugins._patch import patch
from skywalking.plugins._web import record_exception, wsgi_entry_span

link_vector = ['https://falcon.readthedocs.io/en/stable/']
component = Component.Falcon
support_matrix = {'falcon': {'>=3.10': ['3.1', '4.4']}}
note = 'Falcon 3.x/4.x WSGI apps (falcon.App).'
hooked_modules = ['falcon.app']
version_rule = {'name': 'falcon', 'rules': ['>=3.0']}

_GENERAL = int(Component.General)
_FALCON = int(component)


def _params(query: str) -> str | None:
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(query):
        grouped.setdefault(key, []).append(value)
    if not grouped:
        return None
    text = ','.join(f'{key}={values[0] if len(values) == 1 else values}' for key, values in grouped.items())
    return text[: config.plugin_http_http_params_length_threshold]


def wrap_call(call):
    """The traced ``__call__`` of a Falcon WSGI application (shared with `sw_falcon`, Falcon 2)."""

    def _sw_call(this, environ, start_response):
        query = environ.get('QUERY_STRING')
        scope = wsgi_entry_span(environ, _FALCON, inherit=_GENERAL, params=_params(query) if query else None)
        with scope as span:
            span.peer = environ.get('REMOTE_ADDR') or ''

            def _sw_start_response(status, headers, *args):
                try:
                    code, _, message = status.partition(' ')
                    span.tag_http_status(int(code))
                    span.set_tag('http.status_msg', message)
                except Exception:
                    pass
                return start_response(status, headers, *args)

            return call(this, environ, _sw_start_response)

    return _sw_call


def _wrap_python_error_handler(handler):
    def _sw_python_error_handler(this, req, resp, error, params, *args, **kwargs):
        record_exception(error)
        return handler(this, req, resp, error, params, *args, **kwargs)

    return _sw_python_error_handler


def install() -> None:
    from falcon.app import App  # falcon itself may still be importing (this hook fires on falcon.app)

    patch(App, '__call__', wrap_call)
    if hasattr(App, '_python_error_handler'):
        patch(App, '_python_error_handler', _wrap_python_error_handler)
