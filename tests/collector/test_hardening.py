"""The collector against a hostile client on loopback: floods of data that is small on the
wire and large in memory, requests from other origins and for other hosts, deeply nested
YAML, a thousand half-open connections under a low open-files limit. Each test runs its own
`sw-collector` process and reads its memory from /proc and its log from stderr."""

from __future__ import annotations

import json
import resource
import socket
import time
from pathlib import Path

import grpc
import pytest

from tests.collector.harness import Running, start, stop

COLLECT = '/skywalking.v3.TraceSegmentReportService/collect'


@pytest.fixture
def collector(tmp_path: Path):
    running = start(tmp_path, '--max-mib', '16')
    try:
        yield running
    finally:
        stop(running)


def empty_spans_json(segment_id: str, spans: int) -> bytes:
    head = json.dumps({'traceId': 't', 'traceSegmentId': segment_id, 'service': 'flood', 'serviceInstance': 'i'})
    return ('[' + head[:-1] + ', "spans": [' + ','.join(['{}'] * spans) + ']}]').encode()


def stats(c: Running) -> dict:
    status, body = c.request('GET', '/api/stats')
    assert status == 200, body
    return json.loads(body)


# ---------------------------------------------------------------- memory


def test_empty_spans_over_http_keep_memory_bounded(collector: Running):
    """Three 8 MB bodies of empty spans took the collector from 16 MB to 1.6 GB: each `{}` is
    3 bytes of JSON and ~150 bytes parsed. Now such a body is refused before parsing, and
    bodies that may be parsed are kept within the store's budget of bytes held."""
    before = collector.rss_mib()
    started = time.monotonic()
    huge = empty_spans_json('huge', (8 * 1024 * 1024 - 1024) // 3)
    assert len(huge) > 8_000_000
    for _ in range(3):
        status, body = collector.json_post('/v3/segments', huge)
        assert status == 413, body
        assert 'send smaller batches' in body
    # 40 bodies that pass (80,000 empty spans each, ~15 MB each once parsed): 600 MB if kept.
    for i in range(40):
        status, body = collector.json_post('/v3/segments', empty_spans_json(f's{i}', 80_000))
        assert status == 200, body
    status, _ = collector.request('GET', '/api/traces')
    assert status == 200
    elapsed = time.monotonic() - started
    peak = collector.peak_mib()
    print(f'HTTP empty spans: RSS {before:.0f} MiB before, peak {peak:.0f} MiB, {elapsed:.1f} s')
    s = stats(collector)['segments']
    assert s['received'] == 40 and s['stored'] < 40 and s['evicted'] > 0, s
    assert peak - before < 200, f'peak RSS {peak:.0f} MiB (from {before:.0f})'
    collector.wait_log('/v3/segments: refused')


def raw_channel(c: Running) -> grpc.Channel:
    options = [('grpc.max_send_message_length', 16 * 1024 * 1024)]
    return grpc.insecure_channel(f'127.0.0.1:{c.grpc_port}', options=options)


def send_raw_segments(channel: grpc.Channel, messages: list[bytes]) -> None:
    collect = channel.stream_unary(COLLECT, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    collect(iter(messages), timeout=60)


def test_empty_spans_over_grpc_keep_memory_bounded(collector: Running):
    """Seven 4 MB gRPC messages of empty spans (2 bytes each on the wire) took 2.2 GB once
    read: segments are kept encoded and decoded on first read. Now each is charged what it
    will hold decoded on arrival, so what does not fit is never decoded."""
    before = collector.rss_mib()
    started = time.monotonic()
    empty_spans = b'\x1a\x00' * (2 * 1024 * 1024 - 16)
    with raw_channel(collector) as channel:
        send_raw_segments(channel, [b'\x12\x02s' + bytes([i]) + empty_spans for i in range(7)])
        # Small segments still fit and are read.
        small = b'\x12\x05small\x22\x03svc' + b'\x1a\x00' * 3
        send_raw_segments(channel, [small])
    status, body = collector.request('GET', '/api/traces')
    assert status == 200, body
    elapsed = time.monotonic() - started
    peak = collector.peak_mib()
    print(f'gRPC empty spans: RSS {before:.0f} MiB before, peak {peak:.0f} MiB, {elapsed:.1f} s')
    s = stats(collector)['segments']
    assert (s['received'], s['stored'], s['evicted']) == (8, 1, 7), s
    assert peak - before < 100, f'peak RSS {peak:.0f} MiB (from {before:.0f})'


def test_a_segment_that_does_not_decode_is_logged(collector: Running):
    """A segment whose framing is sound is acknowledged on arrival; if its content then does
    not decode (a string that is not UTF-8) it is dropped at the first read, and the log
    says so: the agent counted it as sent."""
    with raw_channel(collector) as channel:
        send_raw_segments(channel, [b'\x1a\x03\x32\x01\xff'])
    assert collector.request('GET', '/api/traces')[0] == 200
    collector.wait_log('segment dropped after it was accepted over gRPC: its content does not decode')
    assert stats(collector)['segments']['rejected'] == 1


# ---------------------------------------------------------------- cross-site


def test_state_changes_need_json_and_the_same_origin(collector: Running):
    config = json.dumps({'service': 'svc', 'configurations': {'agent.active': 'false'}}).encode()
    task = json.dumps({'service': 'svc', 'endpointName': '/x'}).encode()
    segment = empty_spans_json('injected', 1)
    # What a page on another site can send without the collector's consent.
    for path, body in (('/api/configurations', config), ('/api/profile/tasks', task), ('/v3/segments', segment)):
        for content_type in ('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=b'):
            status, reason = collector.request('POST', path, body, {'Content-Type': content_type})
            assert status == 415, (path, content_type, status, reason)
            assert reason.startswith(f'POST {path} needs Content-Type: application/json')
        status, reason = collector.json_post(path, body, Origin='http://evil.example')
        assert status == 403 and 'origin' in reason, (path, status, reason)
        status, reason = collector.json_post(path, body, **{'Sec-Fetch-Site': 'cross-site'})
        assert status == 403, (path, status, reason)
    for method, path in (('POST', '/reset'), ('DELETE', '/receiveData')):
        status, _ = collector.request(method, path, None, {'Origin': 'http://127.0.0.1:1'})
        assert status == 403
        status, _ = collector.request(method, path, b'x', {'Content-Type': 'text/plain'})
        assert status == 415
    assert collector.request('GET', '/api/configurations') == (200, '[]')
    assert collector.request('GET', '/api/profile/tasks') == (200, '[]')
    s = stats(collector)
    assert (s['segments']['received'], s['resets']) == (0, 0), s
    collector.wait_log('refused: POST /api/configurations needs Content-Type')

    # The same requests from the collector's own page or a script go through, and are logged.
    same = {'Origin': f'http://{collector.host}', 'Sec-Fetch-Site': 'same-origin'}
    assert collector.json_post('/api/configurations', config, **same)[0] == 200
    assert collector.json_post('/api/profile/tasks', task)[0] == 200
    assert collector.json_post('/v3/segments', segment)[0] == 200
    assert collector.request('POST', '/reset')[0] == 200
    log = collector.wait_log('dynamic configuration of svc is now')
    assert 'agent.active' in log
    collector.wait_log('profile task task-')


def test_foreign_host_names_are_refused_unless_allowed(tmp_path: Path):
    c = start(tmp_path, '--allow-host', 'collector.internal')
    try:
        status, body = c.request('GET', '/api/stats', headers={'Host': f'rebind.example:{c.http_port}'})
        assert status == 403
        assert body.startswith(f'Host "rebind.example:{c.http_port}" is not an address of this collector')
        assert '--allow-host rebind.example' in body
        for host in (c.host, f'localhost:{c.http_port}', f'[::1]:{c.http_port}', f'COLLECTOR.internal:{c.http_port}'):
            status, body = c.request('GET', '/api/stats', headers={'Host': host})
            assert status == 200, (host, body)
        c.wait_log('Host "rebind.example')
    finally:
        stop(c)


def test_binding_beyond_loopback_warns(tmp_path: Path):
    c = start(tmp_path, http='0.0.0.0')
    try:
        log = c.wait_log('WARNING: HTTP listens on 0.0.0.0')
        assert 'no authentication' in log
        assert 'WARNING: gRPC' not in log
    finally:
        stop(c)


# ---------------------------------------------------------------- bounded work


def test_deep_yaml_is_refused_at_once_with_the_reason_first(collector: Running):
    """100,000 `[` cost 17.6 s of CPU, and the work went on after the client gave up."""
    started = time.monotonic()
    status, body = collector.request('POST', '/dataValidate', b'[' * 100_000, {'Content-Type': 'application/yaml'})
    elapsed = time.monotonic() - started
    assert status == 400
    assert body.startswith('expected data nests [ or { deeper than 64 levels')
    assert elapsed < 2, f'{elapsed:.2f} s'
    status, body = collector.request('POST', '/dataValidate', b'- ' * 50_000 + b'x', {})
    assert status == 400 and body.startswith('expected data is indented or nested beyond column'), body
    status, body = collector.request('POST', '/dataValidate', b'segmentItems: [', {})
    assert status == 400
    assert body.startswith('expected data is not valid'), body
    assert 'actual data' not in body
    collector.wait_log('/dataValidate: bad request: expected data nests')


def test_half_open_connections_do_not_stop_the_health_check(tmp_path: Path):
    """A thousand connections that send nothing, or half a request, against a collector that
    may open only 256 files: the oldest are shed, the health check answers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    c = start(tmp_path, open_files=256)
    sockets: list[socket.socket] = []
    try:
        for i in range(1000):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(('127.0.0.1', c.http_port))
            sockets.append(s)
            if i % 2:
                try:
                    s.send(b'GET /healthCheck HTTP/1.1\r\nHost: 127.0.0.1\r\n')  # never finished
                except OSError:
                    pass
        for _ in range(5):
            started = time.monotonic()
            status, body = c.request('GET', '/healthCheck', timeout=5)
            elapsed = time.monotonic() - started
            assert (status, body) == (200, 'Success')
            assert elapsed < 3, f'{elapsed:.2f} s'
        print(f'health check under 1,000 half-open connections: {elapsed * 1000:.0f} ms')
        assert c.process.poll() is None
    finally:
        for s in sockets:
            s.close()
        stop(c)
