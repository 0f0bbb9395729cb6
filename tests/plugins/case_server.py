"""What the database scenarios' services share: a plain `http.server` (traced by the agent's
http.server plugin, so each request is one segment) whose paths are the cases.

A case is a function returning something JSON can hold; its result is answered with 200. An
exception is answered with 500 and ``{"error": "<module>.<class>", "message": str(error)}``,
so that a test sees the application got the driver's own exception, unchanged.

Services import this file by path (they run in the library's virtualenv, outside the tests
package): ``sys.path.insert(0, str(Path(__file__).resolve().parents[2]))``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _json(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode('latin-1')
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(_json(key)): _json(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # a library exception whose __str__ gives bytes (thriftpy2)
        return repr(error)


def serve(cases: dict[str, Callable[[], Any]]) -> None:
    """Serves ``GET /<case>`` on 127.0.0.1:$PORT until killed."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            case = cases.get(self.path.lstrip('/').split('?', 1)[0])
            if case is None:
                status, answer = 404, {'error': 'no such case'}
            else:
                try:
                    status, answer = 200, {'result': _json(case())}
                except Exception as error:
                    kind = type(error)
                    name = f'{kind.__module__}.{kind.__qualname__}'
                    status, answer = 500, {'error': name, 'message': _message(error)}
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
