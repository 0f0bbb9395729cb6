"""W2's downstream: a plain HTTP server answering every GET with a short body. Runs without any agent.

Usage: python downstream.py PORT  (prints ``ready`` once listening)
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'ok\n'


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would cost more than the request


def main() -> None:
    server = ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print('ready', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
