"""Where a W1 request's agent overhead goes, for a SkyWalking contender.

In one process:

* W1 requests before the agent starts and after: the difference is the agent's cost on the
  application thread (`time.thread_time`; the reporter thread is not in it) and in the
  process (`time.process_time`, all threads);
* what the Flask plugin reads from the request, each on a fresh `flask.Request` (werkzeug
  caches `url` per request object, so a reused one would hide its cost), minus the cost of
  making the object (`method` and `path` are set by the constructor, so they cost nothing more);
* the plugin's span work (entry span, layer, component, peer, three tags, enter and exit),
  in a tight loop and "spaced": with about 100 µs of unrelated Python work between two spans,
  as in a real request, where the reporter has gone idle and the caches hold other data.

Medians of `--rounds`. Usage:
python w1_breakdown.py --contender rs|upstream --backend HOST:PORT --service NAME --n N
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from flask_app import iteration_for, make_app
from harness import Contender


def request_reads():
    """(name, function) pairs; each builds a fresh request and reads what the plugin reads."""
    import flask
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path='/hello', environ_base={'REMOTE_PORT': '5000'}).get_environ()
    make = flask.Request

    def fresh() -> None:
        make(environ)

    def url() -> None:
        make(environ).url.split('?', 1)[0]

    def headers() -> None:
        request_headers = make(environ).headers
        request_headers.get('sw8')
        request_headers.get('sw8-correlation')

    return fresh, [
        ("request.url.split('?')", url),
        ('request.headers.get() x2', headers),
    ]


def span_work():
    from skywalking import Component, Layer
    from skywalking.trace.context import get_context
    from skywalking.trace.tags import TagHttpMethod, TagHttpStatusCode, TagHttpURL

    def run() -> None:
        with get_context().new_entry_span('/hello') as span:
            span.layer = Layer.Http
            span.component = Component.Flask
            span.peer = '127.0.0.1:5000'
            span.tag(TagHttpMethod('GET'))
            span.tag(TagHttpURL('http://localhost/hello'))
            span.tag(TagHttpStatusCode(200))

    return run


_JUNK = [{'a': i, 'b': str(i)} for i in range(100000)]


def busy(i: int) -> int:
    """About 100 µs of Python that walks memory the span work does not use."""
    start = (i * 4099) % 90000
    return sum(item['a'] for item in _JUNK[start : start + 6000 : 3])


def loop_cost(fn, n: int) -> tuple[float, float]:
    """CPU µs per call of `fn(i)`: this thread, and the whole process."""
    thread0, process0 = time.thread_time(), time.process_time()
    for i in range(n):
        fn(i)
    return (time.thread_time() - thread0) / n * 1e6, (time.process_time() - process0) / n * 1e6


def spaced_cost(fn, n: int) -> float:
    """Thread CPU µs of `fn()` alone when `busy` runs between calls (timer cost subtracted)."""
    total = empty = 0.0
    clock = time.thread_time
    for i in range(n):
        busy(i)
        t0 = clock()
        t1 = clock()
        fn()
        t2 = clock()
        empty += t1 - t0
        total += t2 - t1
    return (total - empty) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--contender', choices=('rs', 'upstream'), required=True)
    parser.add_argument('--backend', required=True)
    parser.add_argument('--service', required=True)
    parser.add_argument('--n', type=int, default=5000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--pause', type=float, default=1.0)
    args = parser.parse_args()

    app = make_app()
    request = iteration_for(app)
    loop_cost(request, 500)  # warm-up
    before = [loop_cost(request, args.n) for _round in range(args.rounds)]

    contender = Contender(args.contender, args.service, args.backend)
    contender.start()  # the lines every driver starts the agents with
    loop_cost(request, 500)
    time.sleep(args.pause)
    after = []
    for _round in range(args.rounds):
        after.append(loop_cost(request, args.n))
        time.sleep(args.pause)  # let the reporter drain, so the queue never fills

    fresh, reads = request_reads()
    parts: dict[str, float] = {}
    base = statistics.median(loop_cost(lambda _i: fresh(), args.n)[0] for _round in range(args.rounds))
    for name, fn in reads:
        cost = statistics.median(loop_cost(lambda _i, fn=fn: fn(), args.n)[0] for _round in range(args.rounds))
        parts[name] = cost - base
    run = span_work()
    tight, spaced = [], []
    for _round in range(args.rounds):
        tight.append(loop_cost(lambda _i: run(), args.n)[0])
        time.sleep(args.pause)
        spaced.append(spaced_cost(run, args.n))
        time.sleep(args.pause)
    parts['span work, tight loop'] = statistics.median(tight)
    parts['span work, spaced (as in a request)'] = statistics.median(spaced)

    def summary(runs):
        return {'thread_us': statistics.median(r[0] for r in runs), 'process_us': statistics.median(r[1] for r in runs)}

    result = {
        'n': args.n,
        'rounds': args.rounds,
        'backend': args.backend,
        'request_without_agent': summary(before),
        'request_with_agent': summary(after),
        'parts_thread_us': parts,
    }
    contender.stop()
    sys.stdout.write('BENCH w1breakdown ' + json.dumps(result) + '\n')


if __name__ == '__main__':
    main()
