"""The `http.server` plugin on werkzeug's development server (`WSGIRequestHandler.run_wsgi`),
with a plain WSGI app, on the werkzeug version `tools/plugin_matrix.py` installed."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent


def test_server_span_with_status(services, collector, plugin_python):
    port = free_port()
    services.start('provider', HERE / 'services' / 'provider.py', port, python=plugin_python)

    assert http_get(f'http://127.0.0.1:{port}/hello?x=1')[0] == 200
    assert http_get(f'http://127.0.0.1:{port}/missing')[0] == 404

    text = (HERE / 'expected' / 'werkzeug.yml').read_text().replace('PROVIDER_PORT', str(port))
    ok, reason = collector.validate(text)
    assert ok, f'{reason}\n{services.logs()}'
