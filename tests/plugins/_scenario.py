"""What the web framework scenarios share: expected data with the ports filled in, and the
segments the collector received, read back for the checks `/dataValidate` cannot express."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from tests.conftest import http_get


def expected(folder: Path, name: str, **ports: int) -> str:
    """``expected/<name>`` of a scenario with ``PROVIDER_PORT``, ``CONSUMER_PORT``, ... replaced."""
    text = (folder / 'expected' / name).read_text()
    for key, port in ports.items():
        text = text.replace(f'{key.upper()}_PORT', str(port))
    return text


def segments(collector, service: str) -> list[dict]:
    data = yaml.safe_load(collector.receive_data()) or {}
    return [
        segment
        for item in data.get('segmentItems') or []
        if item['serviceName'] == service
        for segment in item['segments']
    ]


def entry_spans(collector, service: str) -> list[dict]:
    found = segments(collector, service)
    return [span for segment in found for span in segment['spans'] if span['spanType'] == 'Entry']


def wait_for_segments(collector, service: str, count: int, timeout: float = 30.0) -> list[dict]:
    """The segments of `service` once at least `count` arrived (or what arrived by `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        found = segments(collector, service)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def settle(collector, service: str, wait: Callable[[list[dict]], bool], timeout: float = 20.0) -> list[dict]:
    """The segments of `service` once `wait(segments)` holds, then after one more second (so a
    segment that should not exist would have arrived with the others)."""
    deadline = time.monotonic() + timeout
    while not wait(segments(collector, service)) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    return segments(collector, service)


def tags(span: dict) -> dict[str, str]:
    return {tag['key']: tag['value'] for tag in span.get('tags') or []}


def concurrent_gets(urls: list[str], workers: int = 50) -> list[tuple[int, bytes]]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(http_get, urls))


def check_own_segments(found: list[dict], count: int) -> None:
    """`count` concurrent requests ``/item/<n>`` whose handler opened a local span ``/local/<n>``:
    every segment holds exactly one entry span and the local span of the same request."""
    assert len(found) == count, f'{len(found)} segments for {count} requests'
    seen = set()
    for segment in found:
        entries = [span for span in segment['spans'] if span['spanType'] == 'Entry']
        locals_ = [span for span in segment['spans'] if span['spanType'] == 'Local']
        assert len(entries) == 1, segment
        n = entries[0]['operationName'].rsplit('/', 1)[1]
        assert [span['operationName'] for span in locals_] == [f'/local/{n}'], segment
        assert locals_[0]['parentSpanId'] == entries[0]['spanId']
        seen.add(n)
    assert len(seen) == count


def websocket_echo(url: str, text: str) -> str:
    """Sends `text` on a websocket and returns the first answer (websocket-client)."""
    import websocket

    connection = websocket.create_connection(url, timeout=10)
    try:
        connection.send(text)
        return connection.recv()
    finally:
        connection.close()
