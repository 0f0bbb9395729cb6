"""What one stack capture costs with the GIL held, at given stack depths, for one SkyWalking agent.

A thread recurses until its stack holds exactly `depth` Python frames (counted from the
thread's bootstrap frames), then stops there:

* skywalking-rs (`--contender rs`): the thread itself calls
  `skywalking._core.capture_current_stack(max_depth)` `--n` times, timing each call. That is
  the capture its sampler makes for a profiled thread (CPython C API, `file.function: line`
  signatures, outermost first); here it runs on the captured thread, which already holds the
  GIL, so acquiring the GIL is not part of it.
* apache-skywalking (`--contender upstream`): the thread blocks in a C call (a lock, so no
  extra Python frame sits on its stack), and the main thread calls upstream's own
  `ThreadProfiler.build_snapshot()` on it `--n` times, as its `ProfileThread` does every dump
  period: `sys._current_frames()`, `traceback.extract_stack(frame)`, the code-signature
  strings, the `TracingThreadSnapshot`. Its parts are then timed one by one as well
  (`sys._current_frames()` alone, `traceback.extract_stack()` alone, the strings alone).

The agent is not started: only the capture is measured. Prints ``BENCH capture {...}``.
Usage: python profile_capture.py --contender rs|upstream --depths 20,100 --n 3000
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (unsorted)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(samples_ns: list[int]) -> dict:
    us = [s / 1000 for s in samples_ns]
    return {
        'n': len(us),
        'median_us': statistics.median(us),
        'p95_us': percentile(us, 0.95),
        'p99_us': percentile(us, 0.99),
        'min_us': min(us),
        'mean_us': statistics.fmean(us),
    }


def time_calls(call: Callable[[], object], n: int, warmup: int) -> list[int]:
    """Nanoseconds of each of `n` calls, after `warmup` untimed ones."""
    clock = time.perf_counter_ns
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        t0 = clock()
        call()
        samples.append(clock() - t0)
    return samples


def stack_depth() -> int:
    """Python frames on the calling thread's stack, the caller's frame included."""
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def at_depth(depth: int, then: Callable[[], None]) -> None:
    """Recurses until this frame is the `depth`-th on the stack, then calls `then` (frame depth + 1)."""
    if stack_depth() < depth:
        at_depth(depth, then)
    else:
        then()


def run_in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, name='profiled', daemon=True)
    thread.start()
    return thread


def measure_rs(depth: int, n: int, warmup: int) -> dict:
    from skywalking import _core

    # A partial of a C function adds no Python frame: the innermost frame of every timed
    # capture is `first`'s or `time_calls`', the caller of `capture`.
    capture = functools.partial(_core.capture_current_stack, 500)
    result: dict = {}

    def first() -> list[str]:
        return capture()

    def in_thread() -> None:
        frames = first()
        result['frames'] = len(frames)
        result['innermost'] = frames[-1]
        result['capture'] = summary(time_calls(capture, n, warmup))
        result['timer_only'] = summary(time_calls(tuple, n, warmup))

    # at_depth(k, then) calls `then` as frame k + 1, so `in_thread` is frame depth - 1 and
    # `first` and `time_calls`, which make the captures, are frame `depth`.
    run_in_thread(lambda: at_depth(depth - 2, in_thread)).join()
    result['captured_frames_timed'] = result['frames']
    return result


def measure_upstream(depth: int, n: int, warmup: int) -> dict:
    import traceback

    from skywalking.profile.profile_context import ProfileTaskExecutionContext, ThreadProfiler
    from skywalking.profile.profile_status import ProfileStatus
    from skywalking.profile.profile_task import ProfileTask

    from skywalking import config
    from skywalking.trace.context import SpanContext

    release = threading.Lock()
    release.acquire()
    ready = threading.Event()

    def park() -> None:
        ready.set()
        release.acquire()  # a C call: the frame calling it is the innermost one

    thread = run_in_thread(lambda: at_depth(depth - 1, park))  # `park` is frame `depth`
    ready.wait()
    time.sleep(0.05)  # let it reach the blocking acquire
    task = ProfileTask(
        task_id='bench',
        first_span_op_name='/bench',
        duration=1,
        min_duration_threshold=0,
        thread_dump_period=10,
        max_sampling_count=5,
        start_time=0,
        create_time=0,
    )
    context = ProfileTaskExecutionContext(task)
    span_context = SpanContext()
    profiler = ThreadProfiler(
        trace_context=span_context, segment_id='segment', profiling_thread=thread, profile_context=context
    )
    profiler.profile_status.update_status(ProfileStatus.PROFILING)
    first = profiler.build_snapshot()
    if first is None:
        raise RuntimeError('build_snapshot() returned None')
    result: dict = {'frames': len(first.stack_list), 'innermost': first.stack_list[-1]}
    result['capture'] = summary(time_calls(profiler.build_snapshot, n, warmup))
    ident = int(thread.ident)
    frame = sys._current_frames()[ident]
    max_depth = config.agent_profile_dump_max_stack_depth
    extracted = traceback.extract_stack(frame)

    def signatures() -> list[str]:
        # The loop of build_snapshot, on its own.
        out = []
        for idx, item in enumerate(extracted):
            if idx > max_depth:
                break
            out.append(f'{item.filename}.{item.name}: {item.lineno}')
        return out

    result['parts'] = {
        'sys._current_frames()': summary(time_calls(sys._current_frames, n, warmup)),
        'traceback.extract_stack(frame)': summary(time_calls(lambda: traceback.extract_stack(frame), n, warmup)),
        'code-signature strings': summary(time_calls(signatures, n, warmup)),
    }
    result['timer_only'] = summary(time_calls(tuple, n, warmup))
    result['threads_alive'] = threading.active_count()
    release.release()
    thread.join()
    result['captured_frames_timed'] = result['frames']
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--contender', choices=('rs', 'upstream'), required=True)
    parser.add_argument('--depths', default='20,100')
    parser.add_argument('--n', type=int, default=3000)
    parser.add_argument('--warmup', type=int, default=300)
    # Passed by run.breakdown_process, which starts this script; nothing is reported.
    parser.add_argument('--backend', default='')
    parser.add_argument('--service', default='')
    args = parser.parse_args()
    measure = measure_rs if args.contender == 'rs' else measure_upstream
    results = {}
    for depth in (int(d) for d in args.depths.split(',')):
        results[str(depth)] = measure(depth, args.n, args.warmup)
        got = results[str(depth)]['captured_frames_timed']
        if got != depth:
            raise RuntimeError(f'{args.contender}: asked for a stack {depth} deep, captured {got} frames')
    print('BENCH capture ' + json.dumps({'contender': args.contender, 'depths': results}), flush=True)


if __name__ == '__main__':
    main()
