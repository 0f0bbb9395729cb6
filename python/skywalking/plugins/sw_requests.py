"""Exit spans for `requests` calls, with `sw8` headers injected into the request."""

from __future__ import annotations

from skywalking import Component, Layer, config
from skywalking.trace.context import get_context
from skywalking.trace.span import NoopSpan
from skywalking.trace.tags import TagHttpMethod, TagHttpURL
from skywalking.utils.filter import sw_urlparse

link_vector = ['https://requests.readthedocs.io']
support_matrix = {'requests': {'>=3.10': ['2.31', '2.32']}}
note = ''
hooked_modules = ['requests']
version_rule = {'name': 'requests', 'rules': ['>=2.20']}

# Positional index of `headers` in Session.request(method, url, params, data, headers, ...).
_HEADERS_INDEX = 2


def _is_own_report(netloc: str) -> bool:
    """The agent's own HTTP reports are not traced."""
    if config.agent_protocol != 'http':
        return False
    return config.agent_collector_backend_services.rstrip('/').endswith(netloc)


def install() -> None:
    from requests import Session

    if getattr(Session, '_sw_patched', False):
        return
    _request = Session.request

    def _sw_request(this, method, url, *args, **kwargs):
        url_param = sw_urlparse(url)
        if _is_own_report(url_param.netloc):
            return _request(this, method, url, *args, **kwargs)
        method = str(method).upper()
        if config.ignore_http_method_check(method):
            span = NoopSpan()
        else:
            span = get_context().new_exit_span(url_param.path or '/', url_param.netloc, Component.Requests)
        with span:
            span.layer = Layer.Http
            args = list(args)
            if len(args) > _HEADERS_INDEX:
                headers = dict(args[_HEADERS_INDEX] or {})
                headers.update(span.inject_headers())
                args[_HEADERS_INDEX] = headers
            else:
                headers = dict(kwargs.get('headers') or {})
                headers.update(span.inject_headers())
                kwargs['headers'] = headers
            span.set_tag(TagHttpMethod.key, method)
            span.set_tag(TagHttpURL.key, url_param.geturl())
            response = _request(this, method, url, *args, **kwargs)
            span.tag_http_status(response.status_code)
            return response

    Session.request = _sw_request
    Session._sw_patched = True
