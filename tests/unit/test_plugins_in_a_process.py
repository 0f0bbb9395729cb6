"""The real plugins and helpers in a fresh process (installing them here would patch the test
process): install -> uninstall -> install restores and re-patches every attribute, and each
HTTP helper honours `plugin_http_ignore_method`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import skywalking

PYTHONPATH = str(Path(skywalking.__file__).resolve().parent.parent)


def run(code: str) -> dict:
    result = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        env={**os.environ, 'PYTHONPATH': PYTHONPATH},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_install_uninstall_install_restores_and_repatches_every_plugin():
    out = run(
        """
        import http.client, http.server, json, urllib.request
        import flask, requests
        from skywalking import config, plugins
        from skywalking.plugins._http import http_exit_span

        config.agent_disable_plugins = ['']
        targets = {
            'flask': (flask.Flask, ['full_dispatch_request', 'handle_user_exception', 'handle_exception']),
            'requests': (requests.Session, ['request']),
            'urllib': (urllib.request.OpenerDirector, ['open']),
            'http_server': (http.server.BaseHTTPRequestHandler, ['handle', 'send_response_only']),
        }
        originals = {k: [vars(owner)[n] for n in names] for k, (owner, names) in targets.items()}

        def state():
            return {k: [vars(owner)[n] is o for n, o in zip(names, originals[k])]
                    for k, (owner, names) in targets.items()}

        plugins.install()
        http_exit_span('http://x/', 'GET', 7002)  # puts the http.client hook in place
        hooked = 'endheaders' in vars(http.client.HTTPConnection) and vars(http.client.HTTPConnection)['endheaders']
        first = {'installed': sorted(plugins.installed()), 'state': state(),
                 'wire': getattr(hooked, '_sw_patch', False)}
        plugins.uninstall('sw_flask')
        only_flask = state()
        plugins.uninstall()
        after = {'installed': plugins.installed(), 'state': state(),
                 'wire': getattr(vars(http.client.HTTPConnection)['endheaders'], '_sw_patch', False)}
        plugins.install()
        again = {'installed': sorted(plugins.installed()), 'state': state()}
        print(json.dumps({'first': first, 'only_flask': only_flask, 'after': after, 'again': again}))
        """
    )
    # At least these (stdlib plugins and those of libraries in the test venv come too).
    everything = {'sw_flask', 'sw_http_server', 'sw_requests', 'sw_urllib_request'}
    assert everything <= set(out['first']['installed'])
    assert all(not same for values in out['first']['state'].values() for same in values)
    assert out['first']['wire'] is True
    assert out['only_flask']['flask'] == [True, True, True]
    assert out['only_flask']['requests'] == [False]
    assert out['after']['installed'] == []
    assert all(same for values in out['after']['state'].values() for same in values)
    assert out['after']['wire'] is False
    assert out['again']['installed'] == out['first']['installed']
    assert all(not same for values in out['again']['state'].values() for same in values)


def test_every_http_helper_honours_the_ignored_methods():
    out = run(
        """
        import json
        from skywalking import agent, config
        from skywalking.plugins._http import http_exit_span
        from skywalking.plugins._web import asgi_entry_span, http_entry_span, wsgi_entry_span

        config.init(agent_collector_backend_services='127.0.0.1:9', plugin_http_ignore_method='post,Put',
                    agent_disable_plugins=['sw_.*'], agent_profile_active=False, agent_meter_reporter_active=False)
        agent.start()
        environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/x', 'HTTP_HOST': 'h'}
        scope = {'type': 'http', 'method': 'PUT', 'path': '/x', 'headers': []}
        result = {}
        for method in ('POST', 'GET'):
            environ['REQUEST_METHOD'] = method
            with wsgi_entry_span(environ, 7001) as span:
                result[f'wsgi {method}'] = span.is_noop
        for method in ('PUT', 'GET'):
            scope['method'] = method
            # The server's send, handed over as it is when the span records nothing.
            entry = asgi_entry_span(scope, 7014, None, None, None, None, None, None, print)
            with entry as span:
                result[f'asgi {method}'] = span.is_noop
                result[f'asgi server send {method}'] = entry.send is print
        for method in ('POST', 'GET'):
            with http_entry_span(7005, method=method, path='/x') as span:
                result[f'generic {method}'] = span.is_noop
            with http_exit_span('http://h/x', method.lower(), 7002, headers={}) as span:
                result[f'exit {method}'] = span.is_noop
        print(json.dumps(result))
        """
    )
    assert out == {
        'wsgi POST': True,
        'wsgi GET': False,
        'asgi PUT': True,
        'asgi GET': False,
        'asgi server send PUT': True,
        'asgi server send GET': False,
        'generic POST': True,
        'generic GET': False,
        'exit POST': True,
        'exit GET': False,
    }


@pytest.mark.skipif(sys.version_info < (3, 11), reason='aioredis 2 imports on Python 3.10')
def test_aioredis_that_cannot_be_imported_is_left_alone_quietly(tmp_path):
    """aioredis 2 on Python 3.11+: its exceptions module names asyncio.TimeoutError and
    builtins.TimeoutError as bases, one class since 3.11. A stand-in package that fails the
    same way (the real one is not installed in this venv): the application gets that
    TypeError each time it tries, and the agent neither installs sw_aioredis nor logs."""
    package = tmp_path / 'aioredis'
    package.mkdir()
    (package / '__init__.py').write_text(
        'import asyncio\nimport builtins\n\n\n'
        'class TimeoutError(asyncio.TimeoutError, builtins.TimeoutError):\n    pass\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            '-c',
            textwrap.dedent(
                """
                import io, json, logging
                from skywalking import plugins
                from skywalking.loggings import logger

                stream = io.StringIO()
                logger.addHandler(logging.StreamHandler(stream))
                logger.setLevel(logging.INFO)
                plugins.install()
                errors = []
                for _ in range(2):
                    try:
                        import aioredis  # noqa: F401
                    except TypeError as error:
                        errors.append(f'{type(error).__name__}: {error}')
                print(json.dumps({'errors': errors, 'installed': plugins.installed(), 'log': stream.getvalue()}))
                """
            ),
        ],
        env={**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), PYTHONPATH])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out['errors'] == ['TypeError: duplicate base class TimeoutError'] * 2
    assert 'sw_aioredis' not in out['installed']
    assert out['log'] == ''
    assert result.stderr == ''


def test_http_client_calls_under_another_client_pass_no_wrapper_but_the_header_hook():
    """`sw_http_client` wraps nothing of `HTTPConnection` but the `endheaders` hook the
    trace headers need: a `requests` call (over urllib3 over `http.client`, W2's) meets no
    other agent code there. A call made with `http.client` itself outside any exit span
    still sends its trace headers, and its connection keeps nothing of the agent's once the
    response is read, or once sending failed."""
    out = run(
        """
        import http.client, json, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import requests
        from skywalking import agent, config
        from skywalking.trace.context import get_context

        config.init(agent_collector_backend_services='127.0.0.1:9', agent_profile_active=False,
                    agent_meter_reporter_active=False)
        agent.start()
        sent = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                sent.append((self.path, self.headers.get('sw8', '')[:2]))
                self.send_response(200)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'ok')

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        names = ('putrequest', 'request', 'getresponse', 'close', 'endheaders')
        wrapped = [n for n in names if getattr(vars(http.client.HTTPConnection)[n], '_sw_patch', False)]
        agent_keys = {'_sw_span', 'getresponse', 'close'}
        with get_context().new_local_span('/local'):
            requests.get(f'http://127.0.0.1:{port}/requests')
            connection = http.client.HTTPConnection('127.0.0.1', port)
            connection.request('GET', '/plain')
            pending = sorted(agent_keys & set(vars(connection)))
            status = connection.getresponse().status
            left = sorted(agent_keys & set(vars(connection)))
            connection.close()
            refused = http.client.HTTPConnection('127.0.0.1', 9)
            try:
                refused.request('GET', '/refused')
            except OSError as error:
                raised = type(error).__name__
            left_refused = sorted(agent_keys & set(vars(refused)))
        print(json.dumps({'wrapped': wrapped, 'sent': sorted(sent), 'pending': pending, 'status': status,
                          'left': left, 'raised': raised, 'left_refused': left_refused}))
        """
    )
    assert out['wrapped'] == ['endheaders']
    assert out['sent'] == [['/plain', '1-'], ['/requests', '1-']]
    assert out['pending'] == ['_sw_span', 'close', 'getresponse']
    assert out['status'] == 200
    assert out['left'] == []
    assert out['raised'] == 'ConnectionRefusedError'
    assert out['left_refused'] == []
