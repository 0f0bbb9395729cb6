"""sw_sanic_v2 wraps `Sanic.handle_request`, which Sanic's touch-up recompiles from its source
when a server starts: the touch-up must work on the library's code (not the wrapper), and
the wrapper must stay in place and call the touched-up method. In test mode (sanic-testing's,
where every app's start touches up again, from copies Sanic keeps of the first methods) a
second app must find everything as the first left it; outside it Sanic itself cannot start
a second server in one process. Checked in the scenario's Sanic version, with the
plugin installed as the agent installs it (no backend needed: nothing is asserted on spans
here, the scenarios do that)."""

import subprocess
import textwrap

import pytest

CHECK = textwrap.dedent(
    """
    import asyncio, socket, sys

    from sanic import Sanic
    from sanic.response import text

    from skywalking.plugins import _patch, sw_sanic_v2

    rounds = ('first',)
    if sys.argv[1] == 'test':
        Sanic.test_mode = True
        rounds = ('first', 'second')
    sw_sanic_v2.install()
    traced = Sanic.__dict__['handle_request']
    original = traced.__wrapped__
    assert _patch.is_ours(traced)

    def free_port():
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            return sock.getsockname()[1]

    async def serve_once(name):
        app = Sanic(name)

        @app.get('/hello')
        async def hello(request):
            return text('hello')

        port = free_port()
        server = await app.create_server(host='127.0.0.1', port=port, return_asyncio_server=True)
        await server.startup()  # the touch-up
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(f'GET /hello HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\n\\r\\n'.encode())
        head = await reader.readuntil(b'\\r\\n\\r\\n')
        body = await reader.readexactly(5)
        writer.close()
        server.close()
        await server.wait_closed()
        return head, body

    for name in rounds:
        head, body = asyncio.run(serve_once(name))
        assert head.startswith(b'HTTP/1.1 200') and body == b'hello', (head, body)
        assert Sanic.__dict__['handle_request'] is traced, 'the wrapper stays in place'
        assert sw_sanic_v2._library_handle_request is not original, 'it calls the touched-up method'
        assert getattr(Sanic, '__touched__', False)
    print('ok')
    """
)


@pytest.mark.parametrize('mode', ['production', 'test'])
def test_the_touch_up_recompiles_the_library_method_and_keeps_the_wrapper(plugin_python, mode):
    done = subprocess.run([plugin_python, '-c', CHECK, mode], capture_output=True, text=True, timeout=120)
    # Sanic logs its start to stdout: the check's verdict is the last line.
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == 'ok', done.stdout + done.stderr
