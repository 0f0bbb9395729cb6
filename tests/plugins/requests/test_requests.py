"""The `requests` plugin, case by case: what the called server receives (the trace headers,
written where `http.client` sends the request) and the exit span the collector receives."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from skywalking import Component
from skywalking._core import decode_sw8
from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
SERVICE = 'requests-cases'


class Echo:
    """A plain (untraced) server that records each request's method, path and header lines."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, list[tuple[str, str]]]] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'  # keep-alive, for the session case

            def handle_one_request_of(self, method: str) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                self.rfile.read(length)
                echo.requests.append((method, self.path, list(self.headers.items())))
                if self.path == '/redirect':
                    self.send_response(302)
                    self.send_header('Location', '/final')
                else:
                    self.send_response(200)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def do_GET(self):
                self.handle_one_request_of('GET')

            def do_POST(self):
                self.handle_one_request_of('POST')

            def do_DELETE(self):
                self.handle_one_request_of('DELETE')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def headers_of(self, path: str) -> list[tuple[str, str]]:
        matching = [headers for _, p, headers in self.requests if p == path]
        assert len(matching) == 1, f'{path} arrived {len(matching)} times: {self.requests}'
        return matching[0]


def trace_headers(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in headers:
        if name.lower() in ('sw8', 'sw8-correlation'):
            found.setdefault(name.lower(), []).append(value)
    return found


@pytest.fixture(scope='module')
def cases(tmp_path_factory, collector, plugin_python):
    """The consumer service under `sw-python run`, and the echo server it calls."""
    from tests.conftest import Services

    echo = Echo()
    services = Services(collector, tmp_path_factory.mktemp('requests-cases'))
    port = free_port()
    services.start(
        SERVICE,
        HERE / 'services' / 'cases.py',
        port,
        python=plugin_python,
        ECHO_PORT=str(echo.port),
        SW_PLUGIN_HTTP_IGNORE_METHOD='DELETE,options',
        # The bare http.client call after each case checks that the header hook writes
        # nothing without an exit span; sw_http_client would give that call its own span.
        SW_AGENT_DISABLE_PLUGINS='sw_http_client',
    )
    yield echo, port, services
    echo.server.shutdown()
    services.stop()


def exit_spans(collector, endpoint: str) -> list[dict]:
    """The exit spans of the consumer's segment for `endpoint` (waits for it to arrive)."""
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        data = yaml.safe_load(collector.receive_data())
        for item in data.get('segmentItems') or []:
            if item['serviceName'] != SERVICE:
                continue
            for segment in item['segments']:
                spans = segment['spans']
                if any(s['spanType'] == 'Entry' and s['operationName'] == endpoint for s in spans):
                    return [s for s in spans if s['spanType'] == 'Exit']
        time.sleep(0.2)
    raise AssertionError(f'no segment for {endpoint}: {collector.receive_data()}')


def call(port: int, case: str) -> None:
    status, _ = http_get(f'http://127.0.0.1:{port}/{case}')
    assert status == 200


def tags(span: dict) -> dict[str, str]:
    return {t['key']: t['value'] for t in span['tags']}


def test_a_plain_call_carries_one_sw8_naming_the_exit_span(cases, collector):
    echo, port, _ = cases
    call(port, 'plain')

    headers = trace_headers(echo.headers_of('/plain?x=1'))
    assert headers['sw8-correlation'] == ['']
    [sw8] = headers['sw8']
    caller = decode_sw8(sw8)
    assert isinstance(caller, tuple), sw8
    _trace, _segment, parent_span_id, parent_service, _instance, parent_endpoint, address = caller
    [span] = exit_spans(collector, '/plain')
    assert span['operationName'] == '/plain'
    assert span['peer'] == f'127.0.0.1:{echo.port}'
    assert span['componentId'] == Component.Requests == 7002
    assert span['spanLayer'] == 'Http'
    assert tags(span) == {
        'http.method': 'GET',
        'http.url': f'http://127.0.0.1:{echo.port}/plain?x=1',
        'http.status_code': '200',
    }
    # The header names this exit span as the caller, at the address the client used.
    assert parent_span_id == span['spanId']
    assert parent_service == SERVICE
    assert parent_endpoint == '/plain'
    assert address == f'127.0.0.1:{echo.port}'


def test_the_callers_own_sw8_header_is_replaced_not_duplicated(cases, collector):
    echo, port, _ = cases
    call(port, 'own_header')

    headers = echo.headers_of('/own')
    [sw8] = trace_headers(headers)['sw8']
    assert sw8 != 'set-by-the-caller'
    assert isinstance(decode_sw8(sw8), tuple)
    assert ('X-Other', 'kept') in headers


def test_credentials_are_kept_out_of_peer_and_url(cases, collector):
    echo, port, _ = cases
    call(port, 'credentials')

    assert len(trace_headers(echo.headers_of('/credentials'))['sw8']) == 1
    [span] = exit_spans(collector, '/credentials')
    assert span['peer'] == f'127.0.0.1:{echo.port}'
    assert tags(span)['http.url'] == f'http://127.0.0.1:{echo.port}/credentials'


def test_an_ignored_method_is_not_traced_and_tells_the_server_so(cases, collector):
    echo, port, _ = cases
    call(port, 'ignored')

    # As upstream: a NoopSpan's header, which the called agent reads as "do not trace".
    [sw8] = trace_headers(echo.headers_of('/ignored'))['sw8']
    assert decode_sw8(sw8) == 'suppressed'
    assert exit_spans(collector, '/ignored') == []


def test_urllib_skips_an_ignored_method_too(cases, collector):
    echo, port, _ = cases
    call(port, 'urllib_ignored')

    [sw8] = trace_headers(echo.headers_of('/urllib-ignored'))['sw8']
    assert decode_sw8(sw8) == 'suppressed'
    assert exit_spans(collector, '/urllib_ignored') == []


def test_each_request_on_a_kept_alive_connection_carries_its_own_span(cases, collector):
    echo, port, _ = cases
    call(port, 'session')

    first = decode_sw8(trace_headers(echo.headers_of('/session/1'))['sw8'][0])
    second = decode_sw8(trace_headers(echo.headers_of('/session/2'))['sw8'][0])
    spans = exit_spans(collector, '/session')
    assert [s['operationName'] for s in spans] == ['/session/1', '/session/2']
    assert [first[2], second[2]] == [s['spanId'] for s in spans]
    assert all(tags(s)['http.method'] == 'POST' for s in spans)


def test_a_redirect_is_followed_inside_the_same_exit_span(cases, collector):
    echo, port, _ = cases
    call(port, 'redirect')

    first = trace_headers(echo.headers_of('/redirect'))['sw8']
    followed = trace_headers(echo.headers_of('/final'))['sw8']
    assert first == followed
    [span] = exit_spans(collector, '/redirect')
    assert tags(span)['http.status_code'] == '200'


def test_urllib_and_bare_http_client_calls_get_no_extra_headers(cases, collector):
    echo, port, _ = cases
    call(port, 'with_urllib')

    # urllib.request's plugin passes its headers itself; the hook adds nothing to them.
    assert len(trace_headers(echo.headers_of('/urllib'))['sw8']) == 1
    # http.client with no exit span around it: nothing is added.
    bare = [h for _, p, h in echo.requests if p == '/http-client']
    assert bare, echo.requests
    assert all(trace_headers(h) == {} for h in bare)


def test_an_incoming_request_with_an_ignored_method_gets_no_entry_span(cases, collector):
    _, port, _ = cases
    status, _ = http_get(f'http://127.0.0.1:{port}/not-traced', method='DELETE')
    assert status == 200
    # The next request's segment is queued after the DELETE's would have been.
    call(port, 'traced-after')
    exit_spans(collector, '/traced-after')
    data = yaml.safe_load(collector.receive_data())
    names = [
        span['operationName']
        for item in data.get('segmentItems') or []
        if item['serviceName'] == SERVICE
        for segment in item['segments']
        for span in segment['spans']
    ]
    assert '/traced-after' in names
    assert '/not-traced' not in names
