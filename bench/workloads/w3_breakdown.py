"""Where a W3 span's time goes, for a SkyWalking contender: the W3 body taken apart step by step.

Each variant runs `n` iterations; it is measured as CPU of this thread (the application's
share), CPU of the whole process during the loop (adds the reporter running beside it), and
the process's CPU in a pause after the loop (the reporter finishing what the loop queued).
Every variant runs `--rounds` times; the median is printed as ``BENCH breakdown {...}``.

Usage: python w3_breakdown.py --contender rs|upstream --backend HOST:PORT --service NAME --n N
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from harness import Contender


def variants():
    from skywalking.trace.context import get_context
    from skywalking.trace.tags import Tag

    class TagBench(Tag):
        key = 'bench.i'

    prebuilt = TagBench(1)

    def empty_loop(n: int) -> None:
        for _i in range(n):
            pass

    def tag_object(n: int) -> None:
        for i in range(n):
            TagBench(i)

    def context_only(n: int) -> None:
        for _i in range(n):
            get_context()

    def span_object(n: int) -> None:
        for _i in range(n):
            get_context().new_local_span('op')

    def span_enter_exit(n: int) -> None:
        for _i in range(n):
            with get_context().new_local_span('op'):
                pass

    def span_prebuilt_tag(n: int) -> None:
        for _i in range(n):
            with get_context().new_local_span('op') as span:
                span.tag(prebuilt)

    def w3_body(n: int) -> None:
        for i in range(n):
            with get_context().new_local_span('op') as span:
                span.tag(TagBench(i))

    return [
        ('empty loop', empty_loop),
        ('TagBench(i) alone', tag_object),
        ('get_context() alone', context_only),
        ("get_context().new_local_span('op'), not entered", span_object),
        ('with ...new_local_span(op): pass', span_enter_exit),
        ('... + span.tag(prebuilt tag)', span_prebuilt_tag),
        ('... + span.tag(TagBench(i))  (= W3)', w3_body),
    ]


def measure(run, n: int, pause: float) -> dict:
    thread0, process0 = time.thread_time(), time.process_time()
    run(n)
    thread1, process1 = time.thread_time(), time.process_time()
    time.sleep(pause)  # the reporter drains what the loop queued; its CPU is the tail
    process2 = time.process_time()
    return {
        'thread_us': (thread1 - thread0) / n * 1e6,
        'process_us': (process1 - process0) / n * 1e6,
        'tail_us': (process2 - process1) / n * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--contender', choices=('rs', 'upstream'), required=True)
    parser.add_argument('--backend', required=True)
    parser.add_argument('--service', required=True)
    parser.add_argument('--n', type=int, default=20000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--pause', type=float, default=2.0)
    args = parser.parse_args()

    contender = Contender(args.contender, args.service, args.backend)
    contender.start()  # the lines every driver starts the agents with
    steps = variants()
    for _name, run in steps:  # warm-up: first calls, lazy imports, the gRPC channel
        run(min(args.n, 500))
    time.sleep(args.pause)
    rounds: dict[str, list[dict]] = {name: [] for name, _run in steps}
    for _round in range(args.rounds):
        for name, run in steps:
            rounds[name].append(measure(run, args.n, args.pause))
    result = {
        name: {key: statistics.median(r[key] for r in runs) for key in ('thread_us', 'process_us', 'tail_us')}
        for name, runs in rounds.items()
    }
    contender.stop()
    sys.stdout.write('BENCH breakdown ' + json.dumps({'n': args.n, 'rounds': args.rounds, 'variants': result}) + '\n')


if __name__ == '__main__':
    main()
