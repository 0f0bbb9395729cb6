"""Where sw_httpx writes the trace headers, checked on a real loopback server in the
scenario's httpx version: as h11 sends the request for a default client (not visible in
`request.headers`, redirected requests included, a caller's own `sw8` replaced, URLs
mounted to None as `NO_PROXY` makes them), and into `request.headers` for every other
client (a mounted transport, a `MockTransport`, a pool with HTTP/2 on). Each request must
reach the server with exactly one `sw8`."""

import subprocess
import textwrap

CHECK = textwrap.dedent(
    """
    import asyncio, http.server, threading
    import httpx
    from skywalking import agent, config
    from skywalking.trace.context import get_context

    received = []  # (path, [sw8 values], [sw8-correlation values])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            headers = self.headers
            received.append((self.path, headers.get_all('sw8') or [], headers.get_all('sw8-correlation') or []))
            if self.path == '/redirect':
                self.send_response(302)
                self.send_header('Location', '/target')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(200)
            self.send_header('Content-Length', '2')
            self.end_headers()
            self.wfile.write(b'ok')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f'http://127.0.0.1:{server.server_port}'
    config.init(agent_collector_backend_services='127.0.0.1:1', agent_name='paths', agent_logging_level='ERROR')
    agent.start()

    def one_sw8(path):
        [(seen_path, values, _)] = [item for item in received if item[0] == path]
        assert len(values) == 1 and values[0].startswith('1-') and values[0] != '1-mine', received
        received.clear()

    def shown(response):
        return 'sw8' in response.request.headers

    with get_context().new_entry_span('/paths'):
        with httpx.Client() as client:  # default: written as h11 sends the request
            assert not shown(client.get(base + '/a'))
            one_sw8('/a')
            client.get(base + '/b', headers={'sw8': '1-mine'})
            one_sw8('/b')  # the caller's own sw8 replaced, not sent twice
            client.get(base + '/redirect', follow_redirects=True)
            assert [path for path, values, _ in received if len(values) == 1] == ['/redirect', '/target'], received
            received.clear()
        with httpx.Client(mounts={'all://unused.invalid': None}) as client:  # as NO_PROXY mounts
            assert not shown(client.get(base + '/unmounted'))
            one_sw8('/unmounted')
        with httpx.Client(mounts={'http://unused.invalid': httpx.HTTPTransport()}) as client:
            assert shown(client.get(base + '/mounted'))
            one_sw8('/mounted')
        with httpx.Client() as client:
            client._transport._pool._http2 = True  # as http2=True makes it (h2 need not be installed)
            assert shown(client.get(base + '/http2'))
            one_sw8('/http2')
        seen = []
        mock = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200))
        with httpx.Client(transport=mock) as client:
            client.get(base + '/mock')
            assert seen[0].headers['sw8'].startswith('1-'), seen[0].headers
        get_context().put_correlation('k', 'v')

        async def calls():
            async with httpx.AsyncClient() as client:
                assert not shown(await client.get(base + '/async'))

        asyncio.run(calls())
        [(_, values, correlation)] = received
        assert len(values) == 1 and correlation and correlation[0], received
    print('ok')
    """
)


def test_trace_headers_reach_the_server_once_whichever_way_they_go(plugin_python):
    done = subprocess.run([plugin_python, '-c', CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == 'ok', done.stderr
