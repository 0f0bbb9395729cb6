"""Consumer: an `http.server` whose GET /<case> calls the provider with the client named in
CLIENT (requests, urllib3, http_client, httpx, httpx_async, aiohttp). Cases: users (200),
missing (404), refused (nothing listens), timeout (the provider answers too late). The
response says what the client saw: the status, or the exception's class name."""

import asyncio
import os
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLIENT = os.environ['CLIENT']
PROVIDER = f'127.0.0.1:{os.environ["PROVIDER_PORT"]}'
CLOSED = f'127.0.0.1:{os.environ["CLOSED_PORT"]}'
# Long enough for a first call on a loaded two-core CI host (with 0.3 s, a first httpx call
# once failed there), short enough that /timeout (answered after 3 s) stays quick.
TIMEOUT = 1.0


def call_requests(url):
    import requests

    return requests.get(url, timeout=TIMEOUT).status_code


def call_urllib3(url):
    import urllib3

    return urllib3.PoolManager(retries=False).request('GET', url, timeout=TIMEOUT).status


def call_http_client(url):
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        connection.request('GET', parts.path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def call_httpx(url):
    import httpx

    with httpx.Client(timeout=TIMEOUT) as client:
        return client.get(url).status_code


def call_httpx_async(url):
    import httpx

    async def call():
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            return (await client.get(url)).status_code

    return asyncio.run(call())


def call_aiohttp(url):
    import aiohttp

    async def call():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
            async with session.get(url) as response:
                return response.status

    return asyncio.run(call())


CALL = globals()[f'call_{CLIENT}']
TARGETS = {
    '/users': f'http://{PROVIDER}/users',
    '/missing': f'http://{PROVIDER}/missing',
    '/refused': f'http://{CLOSED}/refused',
    '/timeout': f'http://{PROVIDER}/slow',
    # The agent's own backend (over HTTP): a client plugin must not trace calls to it.
    '/collector': f'http://{os.environ["SW_AGENT_COLLECTOR_BACKEND_SERVICES"]}/receiveData',
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            outcome = str(CALL(TARGETS[self.path]))
        except Exception as error:  # what reached the application
            outcome = f'{type(error).__module__}.{type(error).__name__}'
            traceback.print_exc()  # into the service's log, which a failing test prints
        body = outcome.encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
