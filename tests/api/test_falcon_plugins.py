"""sw_falcon (Falcon 2's `falcon.API`, hug) and sw_falcon_v3 (`falcon.App`) never both trace one
request: Falcon 3 keeps `API` as a subclass of `App`, so both plugins can find a class to
patch there. Checked on a stand-in `falcon` package of Falcon 3's shape, whatever the
version rules say (they keep sw_falcon out of Falcon 3 too)."""

from __future__ import annotations

import sys
import types

import pytest

from skywalking.plugins import _patch, sw_falcon, sw_falcon_v3


class _App:
    def __call__(self, environ, start_response):
        start_response('201 Created', [])
        return [b'ok']


@pytest.fixture
def falcon3(monkeypatch):
    app_class = type('App', (), {'__call__': _App.__call__})
    api_class = type('API', (app_class,), {})  # Falcon 3: a deprecated alias, `__call__` inherited
    falcon = types.ModuleType('falcon')
    falcon.App, falcon.API = app_class, api_class
    falcon_app = types.ModuleType('falcon.app')
    falcon_app.App = app_class
    falcon.app = falcon_app
    monkeypatch.setitem(sys.modules, 'falcon', falcon)
    monkeypatch.setitem(sys.modules, 'falcon.app', falcon_app)
    yield falcon
    for name in ('test_sw_falcon', 'test_sw_falcon_v3'):
        _patch.unpatch_plugin(name)


def _request(app) -> None:
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/f', 'HTTP_HOST': 'h', 'wsgi.url_scheme': 'http'}
    assert app(environ, lambda status, headers, *exc: None) == [b'ok']


@pytest.mark.parametrize('order', [('v2', 'v3'), ('v3', 'v2')])
def test_an_api_instance_under_falcon_3_gives_one_entry_span(reported, falcon3, order):
    plugins = {'v2': ('test_sw_falcon', sw_falcon), 'v3': ('test_sw_falcon_v3', sw_falcon_v3)}
    for key in order:
        name, module = plugins[key]
        with _patch.installing(name):
            module.install()

    _request(falcon3.API())

    [segment] = reported()
    assert [(s['operationName'], s['componentId']) for s in segment['spans']] == [('/f', 7012)]


def test_sw_falcon_traces_falcon_2s_api(reported, monkeypatch):
    falcon = types.ModuleType('falcon')
    falcon.API = type('API', (), {'__call__': _App.__call__})  # Falcon 2: `API` is the application
    monkeypatch.setitem(sys.modules, 'falcon', falcon)
    try:
        with _patch.installing('test_sw_falcon'):
            sw_falcon.install()
        _request(falcon.API())
    finally:
        _patch.unpatch_plugin('test_sw_falcon')
    [segment] = reported()
    [span] = segment['spans']
    assert span['componentId'] == 7012
    assert {t['key']: t['value'] for t in span['tags']}['http.status_code'] == '201'


def _supports(plugin, version: str) -> bool:
    from skywalking.plugins import check

    return any(all(check(unit, version) for unit in rule.split()) for rule in plugin.version_rule['rules'])


def test_version_rules_give_each_falcon_line_to_one_plugin():
    assert _supports(sw_falcon, '2.0.0') and not _supports(sw_falcon, '3.1.3')
    assert _supports(sw_falcon_v3, '3.1.3') and not _supports(sw_falcon_v3, '2.0.0')
