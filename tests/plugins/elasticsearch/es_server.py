"""A stand-in for Elasticsearch, speaking the part of its HTTP API the scenario uses: no
Elasticsearch can run on this machine. It answers as a single-node cluster does (product
header, info document, index creation, documents by id, 404 for a missing one) and records
each request, so that the unmodified client library runs against it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INFO = {
    'name': 'db-stand-in',
    'cluster_name': 'db',
    'version': {'number': '8.19.0', 'build_flavor': 'default', 'lucene_version': '9.12.0'},
    'tagline': 'You Know, for Search',
}


class ElasticsearchStandIn:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.indices: dict[str, dict[str, dict]] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def _handle(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                stand_in.requests.append((self.command, self.path, body))
                status, answer = stand_in.answer(self.command, self.path.split('?', 1)[0], body)
                data = b'' if self.command == 'HEAD' else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header('X-Elastic-Product', 'Elasticsearch')
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict]:
        parts = [part for part in path.split('/') if part]
        if not parts:
            return 200, INFO
        index = parts[0]
        if len(parts) == 1 and method == 'PUT':
            self.indices.setdefault(index, {})
            return 200, {'acknowledged': True, 'shards_acknowledged': True, 'index': index}
        if len(parts) == 3 and parts[1] == '_doc':
            documents = self.indices.get(index)
            if documents is None:
                error = {'type': 'index_not_found_exception', 'reason': f'no such index [{index}]'}
                return 404, {'error': {'root_cause': [error], **error}, 'status': 404}
            doc_id = parts[2]
            meta = {'_index': index, '_id': doc_id, '_version': 1}
            if method in ('PUT', 'POST'):
                documents[doc_id] = json.loads(body or b'{}')
                shards = {'total': 1, 'successful': 1, 'failed': 0}
                return 201, {**meta, 'result': 'created', '_shards': shards, '_seq_no': 0, '_primary_term': 1}
            if doc_id in documents:
                return 200, {**meta, '_seq_no': 0, '_primary_term': 1, 'found': True, '_source': documents[doc_id]}
            return 404, {'_index': index, '_id': doc_id, 'found': False}
        return 400, {'error': f'the stand-in does not know {method} {path}', 'status': 400}

    def stop(self) -> None:
        self.server.shutdown()
