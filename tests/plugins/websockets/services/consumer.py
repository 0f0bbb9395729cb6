"""Consumer: an `http.server` whose GET /<path> opens a WebSocket to the provider's /<path>
with the client named in CLIENT (legacy: websockets.legacy.client, asyncio:
websockets.asyncio.client, websockets 13+) and answers with the first message received, or
the class of the exception the client raised."""

import asyncio
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROVIDER = f'127.0.0.1:{os.environ["PROVIDER_PORT"]}'
CLIENT = os.environ['CLIENT']


async def talk(path: str) -> str:
    if CLIENT == 'legacy':
        from websockets.legacy.client import connect
    else:
        from websockets.asyncio.client import connect
    async with connect(f'ws://{PROVIDER}{path}') as websocket:
        return await websocket.recv()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            body = asyncio.run(talk(self.path)).encode()
        except Exception as error:
            body = f'{type(error).__module__}.{type(error).__name__}'.encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
