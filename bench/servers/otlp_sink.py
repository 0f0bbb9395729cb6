"""A minimal OTLP/gRPC trace receiver that counts spans per `service.name`; runs in the OpenTelemetry venv.

Usage: python otlp_sink.py GRPC_PORT HTTP_PORT  (prints ``ready`` once both listen)
``GET http://127.0.0.1:HTTP_PORT/counts`` answers ``{"spans": {service: n}, "exports": n}``.
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Counts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: dict[str, int] = {}
        self._exports = 0

    def add(self, service: str, spans: int) -> None:
        with self._lock:
            self._spans[service] = self._spans.get(service, 0) + spans

    def export_seen(self) -> None:
        with self._lock:
            self._exports += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {'spans': dict(self._spans), 'exports': self._exports}


class TraceSink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, counts: Counts) -> None:
        self._counts = counts

    def Export(self, request, context):
        self._counts.export_seen()
        for resource_spans in request.resource_spans:
            service = ''
            for attribute in resource_spans.resource.attributes:
                if attribute.key == 'service.name':
                    service = attribute.value.string_value
            self._counts.add(service, sum(len(scope.spans) for scope in resource_spans.scope_spans))
        return trace_service_pb2.ExportTraceServiceResponse()


def http_handler(counts: Counts) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != '/counts':
                self.send_error(404)
                return
            body = json.dumps(counts.snapshot()).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    grpc_port, http_port = int(sys.argv[1]), int(sys.argv[2])
    counts = Counts()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceSink(counts), server)
    server.add_insecure_port(f'127.0.0.1:{grpc_port}')
    server.start()
    http = ThreadingHTTPServer(('127.0.0.1', http_port), http_handler(counts))
    http.daemon_threads = True
    print('ready', flush=True)
    http.serve_forever()


if __name__ == '__main__':
    main()
