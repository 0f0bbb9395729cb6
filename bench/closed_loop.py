"""A closed-loop HTTP load generator: a fixed number of clients, each sending its next request as
soon as the previous answer arrived, for a fixed time, recording every request's latency.

Each client is a process of its own with one keep-alive connection (HTTP/1.1, `http.client`).
Processes, not threads: a client thread waiting for this interpreter's GIL would add that wait to
the latency it measures. The clients connect first, then all start together, so process start-up
is not in the window. A request that fails (connection refused or reset, a status other than
200) is counted as an error, not timed, and its client reconnects.

Standard library only, like run.py.
"""

from __future__ import annotations

import array
import http.client
import multiprocessing
import statistics
import time
from dataclasses import dataclass, field

CONNECT_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 30.0


@dataclass
class LoadResult:
    """What one phase of load measured: latencies (ms) with each request's start (s after go)."""

    seconds: float  # the window requests were started in
    concurrency: int
    wall_s: float = 0.0  # from go until the last answer came back
    latencies_ms: list[float] = field(default_factory=list)
    started_s: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def per_second(self) -> list[dict]:
        """Requests, median and maximum latency in each second of the phase (to see stalls and drift)."""
        buckets: dict[int, list[float]] = {}
        for start, latency in zip(self.started_s, self.latencies_ms, strict=True):
            buckets.setdefault(int(start), []).append(latency)
        return [
            {
                'second': second,
                'requests': len(values),
                'p50_ms': round(statistics.median(values), 3),
                'max_ms': round(max(values), 3),
            }
            for second, values in sorted(buckets.items())
        ]


def _client(port: int, path: str, seconds: float, ready, go, results) -> None:
    """One client: connect, report ready, wait for go, then request in a loop until the time is up."""
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=CONNECT_TIMEOUT_S)
    connection.connect()
    latencies, starts = array.array('d'), array.array('d')
    errors = 0
    ready.put(True)
    go.wait()
    origin = time.perf_counter()
    end = origin + seconds
    while True:
        before = time.perf_counter()
        if before >= end:
            break
        try:
            connection.request('GET', path)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()  # the next request opens a new connection
        after = time.perf_counter()
        if ok:
            latencies.append((after - before) * 1000)
            starts.append(before - origin)
        else:
            errors += 1
    connection.close()
    results.put((latencies.tobytes(), starts.tobytes(), errors))


def run_load(port: int, path: str, concurrency: int, seconds: float) -> LoadResult:
    """Drives `GET path` on 127.0.0.1:`port` with `concurrency` clients for `seconds`; blocks until done."""
    context = multiprocessing.get_context('spawn')  # no fork of this process and its threads
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    clients = [
        context.Process(target=_client, args=(port, path, seconds, ready, go, results), daemon=True)
        for _ in range(concurrency)
    ]
    for client in clients:
        client.start()
    for _ in clients:
        ready.get(timeout=READY_TIMEOUT_S)
    started = time.perf_counter()
    go.set()
    result = LoadResult(seconds=seconds, concurrency=concurrency)
    for _ in clients:
        latencies, starts, errors = results.get(timeout=seconds + 120)
        result.latencies_ms.extend(array.array('d', latencies))
        result.started_s.extend(array.array('d', starts))
        result.errors += errors
    result.wall_s = time.perf_counter() - started
    for client in clients:
        client.join(timeout=10)
    return result
