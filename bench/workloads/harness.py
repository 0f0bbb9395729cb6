"""What the workload drivers share: starting a contender, the measured loop, and the hand-shake with run.py.

A driver runs in the contender's own virtualenv, one fresh process per measurement:

1. start the contender (agent, or OpenTelemetry SDK, or nothing), build the workload, warm it up;
2. print ``BENCH ready {}`` and run the loop in chunks, each started by a line on stdin and
   answered with ``BENCH chunk_done {}``: run.py runs every contender's process at once,
   freezes each outside its turns and hands the chunks round in turn, so that all of them
   meet the machine in the same state (a shared machine's speed drifts by 10-20 % within
   seconds, which separate runs one after the other take for differences between
   contenders). Each chunk's CPU is recorded, and the loop is bracketed by CPU readings; at
   its end the driver prints ``BENCH loop_done {...}``;
3. wait for one line on stdin: run.py sends it once the sink has counted everything the
   process produced, or its deadline passed; meanwhile the contender's background threads
   deliver, and their CPU is part of the process's;
4. stop the contender (flushes what is left, within its own bound), read CPU and peak RSS
   again and print ``BENCH result {...}``.

Only stdlib at import time: the contender's packages are imported when it starts.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable

SKYWALKING = ('upstream', 'rs')
CONTENDERS = ('none', 'upstream', 'otel', 'rs')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument('--contender', choices=CONTENDERS, required=True)
    parser.add_argument('--service', required=True, help='service name the contender reports as')
    parser.add_argument('--backend', default='', help='host:port of the gRPC sink (collector or OTLP sink)')
    parser.add_argument('--n', type=int, required=True, help='measured iterations')
    parser.add_argument('--warmup', type=int, default=0, help='iterations before the measurement')
    parser.add_argument('--downstream', default='', help='URL the W2 endpoint calls')
    parser.add_argument('--grpc-downstream', default='', help='host:port of the gRPC server W6 calls')
    parser.add_argument('--chunk', type=int, default=0, help='iterations per turn (0: the whole loop at once)')
    return parser.parse_args(argv)


class Contender:
    """One of the four set-ups, started exactly as its users start it."""

    def __init__(self, kind: str, service: str, backend: str, logs: bool = False) -> None:
        self.kind = kind
        self.logs = logs  # W4: the log reporter on (default level WARNING, default layout)
        self.service = service
        self.backend = backend
        self.tracer = None  # OpenTelemetry only
        self._stop: Callable[[], object] | None = None

    def start(self) -> None:
        if self.kind in SKYWALKING:
            # The same lines for the replaced agent and for skywalking-rs: the API is the same.
            from skywalking import agent, config

            config.init(
                agent_collector_backend_services=self.backend,
                agent_name=self.service,
                agent_profile_active=False,
                agent_meter_reporter_active=False,
                agent_log_reporter_active=self.logs,
            )
            agent.start()
            self._stop = agent.agent.stop
        elif self.kind == 'otel':
            from opentelemetry import trace
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            from opentelemetry.instrumentation.flask import FlaskInstrumentor
            from opentelemetry.instrumentation.requests import RequestsInstrumentor
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider = TracerProvider(resource=Resource.create({'service.name': self.service}))
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=self.backend, insecure=True)))
            trace.set_tracer_provider(provider)
            FlaskInstrumentor().instrument()
            RequestsInstrumentor().instrument()
            self.tracer = trace.get_tracer('bench')
            self._stop = provider.shutdown

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()


def _cpu() -> float:
    """User + system CPU seconds of the whole process (every thread, the reporter's too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_kib() -> int:
    """Peak resident memory of this process, KiB.

    `VmHWM`, not `ru_maxrss`: Linux carries the high-water mark of the memory image that
    exec replaced into ru_maxrss, so a child of run.py would report at least run.py's own
    size (a bare loop showed 36 MiB). VmHWM belongs to the address space made by exec.
    """
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _agent_stats(contender: Contender) -> dict | None:
    """skywalking-rs's own counters (queued, sent, dropped because the queue was full, ...)."""
    if contender.kind != 'rs':
        return None
    from skywalking import _core

    return dict(_core.stats())


def _emit(event: str, payload: dict) -> None:
    sys.stdout.write(f'BENCH {event} {json.dumps(payload)}\n')
    sys.stdout.flush()


def measure(
    contender: Contender, iteration: Callable[[int], object], n: int, warmup: int, per_iteration: int, chunk: int = 0
) -> None:
    """Runs the protocol described in the module doc; `per_iteration` = segments or spans one call produces."""
    for i in range(warmup):
        iteration(i)
    chunk = chunk or n
    _emit('ready', {})
    cpu0, thread0 = _cpu(), time.thread_time()
    wall = 0.0  # only while this process has its turn
    turns = []  # CPU seconds of each turn (the whole process)
    for start in range(0, n, chunk):
        sys.stdin.readline()  # run.py: this process's turn
        began, turn_cpu = time.perf_counter(), _cpu()
        for i in range(start, min(n, start + chunk)):
            iteration(i)
        turns.append(_cpu() - turn_cpu)
        wall += time.perf_counter() - began
        _emit('chunk_done', {})
    cpu1, thread1 = _cpu(), time.thread_time()
    produced = (warmup + n) * per_iteration if contender.kind != 'none' else 0
    _emit('loop_done', {'produced': produced})
    sys.stdin.readline()  # run.py: the sink has everything, or the deadline passed
    agent_stats = _agent_stats(contender)  # stop() resets them
    stop0 = time.perf_counter()
    contender.stop()
    stop1 = time.perf_counter()
    cpu2 = _cpu()
    _emit(
        'result',
        {
            'agent_stats': agent_stats,
            'n': n,
            'warmup': warmup,
            'produced': produced,
            'cpu_loop_s': cpu1 - cpu0,
            'cpu_loop_thread_s': thread1 - thread0,
            'cpu_total_s': cpu2 - cpu0,
            'wall_loop_s': wall,
            'cpu_turns_s': turns,
            'stop_s': stop1 - stop0,
            'peak_rss_kib': peak_rss_kib(),
            # Linux reports ru_maxrss in KiB.
            'ru_maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        },
    )
