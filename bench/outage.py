"""Outage benchmark: request latency, memory and data while the agent's backend is down, then back.

    python3 bench/outage.py               # the whole run: about 18 minutes on 2 cores
    python3 bench/outage.py --quick       # smoke run: 5 s phases, one repetition; writes results/outage-quick.json
    python3 bench/outage.py --render bench/results/outage.json   # only redo the tables and the doc

A Flask app under gunicorn (one gthread worker, workloads/outage_app.py) is driven by a closed
loop of keep-alive clients (closed_loop.py) in these set-ups, one fresh app per set-up and
repetition, in rotating order:

- no agent;
- each agent (skywalking-rs, apache-skywalking) reporting to a running collector;
- each agent whose backend address has nothing listening at start (the outage); after a phase of
  load the collector is started on that very address and load goes on;
- each agent whose backend accepts connections and never answers (servers/black_hole.py); after a
  phase of load the black hole is stopped (its connections reset) and the collector takes its port.

Phases, each with its own path so the collector counts their segments apart: a warm-up, then
``/steady`` (no agent, backend up) or ``/outage``, ``/recovery`` (backend just started), and, once
the agent delivered anything to the new backend, ``/after``. Around each phase the app's
``/__stats`` gives the worker's memory and CPU and skywalking-rs's counters.

Preparation (venvs, the release wheel, the collector) is run.py's; gunicorn is added to its venvs.
Writes bench/results/outage.json and the generated part of the "Outage" section of
docs/Benchmarks.md (outage_report.py). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import outage_report
import run
from closed_loop import LoadResult, run_load
from outage_processes import App, BlackHole, Collector, ensure_gunicorn
from profiling import load_averages, percentile
from run import LOGS, RESULTS, free_port, log

RESULT = RESULTS / 'outage.json'


@dataclass(frozen=True)
class Setup:
    name: str
    contender: str  # none, rs or upstream (run.py's names)
    backend: str  # none, up, dead or black_hole


SETUPS = [
    Setup('none', 'none', 'none'),
    Setup('rs-up', 'rs', 'up'),
    Setup('rs-dead', 'rs', 'dead'),
    Setup('rs-black-hole', 'rs', 'black_hole'),
    Setup('upstream-up', 'upstream', 'up'),
    Setup('upstream-dead', 'upstream', 'dead'),
    Setup('upstream-black-hole', 'upstream', 'black_hole'),
]
OUTAGES = ('dead', 'black_hole')


@dataclass(frozen=True)
class Settings:
    concurrency: int = 4  # clients, and gthread threads in the worker
    phase_s: float = 20.0  # /steady, /outage and /recovery
    after_s: float = 10.0  # /after
    warmup_s: float = 3.0
    first_delivery_deadline_s: float = 90.0  # after the backend came up (the agents back off up to 60 s)
    delivery_deadline_s: float = 60.0  # after the last phase, for everything to arrive
    delivery_quiet_s: float = 8.0  # ... or nothing new arrived for this long


def latency_summary(load: LoadResult) -> dict:
    values = load.latencies_ms
    if not values:
        return {'requests': 0, 'errors': load.errors}
    return {
        'requests': load.requests,
        'errors': load.errors,
        'seconds': load.seconds,
        'wall_s': load.wall_s,
        'throughput': load.throughput,
        'p50_ms': statistics.median(values),
        'p90_ms': percentile(values, 0.90),
        'p99_ms': percentile(values, 0.99),
        'max_ms': max(values),
        'mean_ms': statistics.fmean(values),
        'per_second': load.per_second(),
    }


def load_phase(app: App, name: str, seconds: float, settings: Settings) -> dict:
    """`seconds` of load on ``/<name>``, with the app's statistics before and after."""
    load_before = run.load_average()
    before = app.stats()
    load = run_load(app.port, f'/{name}', settings.concurrency, seconds)
    after = app.stats()
    result = latency_summary(load)
    result.update({'load_before': load_before, 'stats_before': before, 'stats_after': after})
    if load.requests:
        result['worker_cpu_us_per_request'] = (after['cpu_s'] - before['cpu_s']) / load.requests * 1e6
    log(
        f'  {name:9} {load.requests:6} requests, {load.throughput:7.1f}/s, p50 {result.get("p50_ms", 0):6.2f} ms, '
        f'p99 {result.get("p99_ms", 0):7.2f} ms, errors {load.errors}, RSS {after["rss_kib"] / 1024:.1f} MiB'
    )
    return result


class FirstDelivery:
    """Polls a collector from the moment it is up and notes when the first segment arrived."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.up = time.monotonic()
        self.arrived: float | None = None
        self._done = threading.Event()
        self._stop = threading.Event()
        threading.Thread(target=self._poll, daemon=True).start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                if self.collector.segments_received() > 0:
                    self.arrived = time.monotonic()
                    self._done.set()
                    return
            except OSError:
                pass
            time.sleep(0.1)

    def wait(self, deadline_s: float) -> float | None:
        """Seconds from backend up to the first segment, or None when none came within the deadline."""
        self._done.wait(max(0.0, self.up + deadline_s - time.monotonic()))
        self._stop.set()
        return None if self.arrived is None else self.arrived - self.up


def wait_for_delivery(collector: Collector, service: str, expected: dict[str, int], settings: Settings) -> dict:
    """Polls until every phase in `expected` (path -> requests) arrived whole, nothing new came for a while,
    or the deadline passed; returns the segments held per path."""
    start = time.monotonic()
    last, last_change = None, start
    while True:
        held = collector.endpoint_segments(service)
        now = time.monotonic()
        if held != last:
            last, last_change = held, now
        complete = all(held.get(path, 0) >= n for path, n in expected.items())
        quiet = sum(held.values()) > 0 and now - last_change >= settings.delivery_quiet_s
        if complete or quiet or now - start >= settings.delivery_deadline_s:
            return {'held': held, 'waited_s': now - start, 'complete': complete}
        time.sleep(0.5)


def settled_stats(app: App) -> dict:
    """/__stats once the agent's counters stop moving (a stream is counted as sent when it closes)."""
    previous = app.stats()
    for _ in range(15):
        time.sleep(1.0)
        current = app.stats()
        if current['agent'] == previous['agent']:
            return current
        previous = current
    return previous


def run_setup(setup: Setup, rep: int, shared: Collector, settings: Settings) -> dict:
    service = f'outage-{setup.name}-{rep}'
    result: dict = {'setup': setup.name, 'rep': rep, 'service': service, 'phases': {}}
    port = free_port()  # the outage's backend address: nothing there, or the black hole, then the collector
    collector: Collector | None = None
    late: Collector | None = None
    black_hole = BlackHole(port, f'{service}-black-hole') if setup.backend == 'black_hole' else None
    if setup.backend == 'up':
        shared.reset_collector()
        collector, backend = shared, shared.grpc
    else:
        backend = f'127.0.0.1:{port}'
    log(f'rep {rep + 1} {outage_report.LABELS[setup.name]}')
    app = App(setup.contender, service, backend, settings.concurrency)
    try:
        load_phase(app, 'warmup', settings.warmup_s, settings)
        phases = result['phases']
        if setup.backend in OUTAGES:
            phases['outage'] = load_phase(app, 'outage', settings.phase_s, settings)
            if black_hole is not None:
                black_hole.stop()
                black_hole = None
            late = collector = Collector(f'{service}-collector', port)
            late.start()
            watch = FirstDelivery(late)
            phases['recovery'] = load_phase(app, 'recovery', settings.phase_s, settings)
            result['first_delivery_s'] = watch.wait(settings.first_delivery_deadline_s)
            log(f'  first segment at the new backend {result["first_delivery_s"]} s after it came up')
            phases['after'] = load_phase(app, 'after', settings.after_s, settings)
            expected = {'/after': phases['after']['requests']}
        else:
            phases['steady'] = load_phase(app, 'steady', settings.phase_s, settings)
            expected = {'/steady': phases['steady']['requests']}
        if collector is not None and setup.contender != 'none':
            result['delivery'] = wait_for_delivery(collector, service, expected, settings)
        result['final_stats'] = settled_stats(app)
        if collector is not None:
            result['held'] = collector.endpoint_segments(service)
        if not app.alive():
            raise RuntimeError(f'{service}: the app exited; see {app.log_path}')
    finally:
        app.stop()
        if late is not None:
            late.stop()
        if black_hole is not None:
            black_hole.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--reps', type=int, default=3, help='repetitions of every set-up (rotating order)')
    parser.add_argument('--quick', action='store_true', help='5 s phases, one repetition, no doc')
    parser.add_argument('--phase-seconds', type=float, default=Settings.phase_s)
    parser.add_argument('--concurrency', type=int, default=Settings.concurrency)
    parser.add_argument('--setups', default=','.join(s.name for s in SETUPS), help='comma-separated subset')
    parser.add_argument('--skip-setup', action='store_true', help='use bench/.venvs and the collector as they are')
    parser.add_argument('--no-doc', action='store_true', help='do not touch docs/Benchmarks.md')
    parser.add_argument('--render', metavar='JSON', help='only recompute the summary of a saved run and write the doc')
    args = parser.parse_args()
    if args.render:
        outage_report.render(Path(args.render))
        return
    settings = (
        Settings(concurrency=args.concurrency, phase_s=5.0, after_s=5.0, warmup_s=1.0)
        if args.quick
        else Settings(concurrency=args.concurrency, phase_s=args.phase_seconds)
    )
    reps = 1 if args.quick else args.reps
    wanted = args.setups.split(',')
    setups = [s for s in SETUPS if s.name in wanted]

    started = time.monotonic()
    LOGS.mkdir(parents=True, exist_ok=True)
    run.prepare(skip_build=args.skip_setup)
    ensure_gunicorn(sorted({run.VENV_OF[s.contender] for s in setups}))
    rs_version = run.check_rs_release()
    log(f'skywalking-rs {rs_version} (release); {len(setups)} set-ups x {reps} repetitions')
    loads_start = load_averages()
    shared = Collector('outage-collector')
    runs = []
    try:
        shared.start()
        for rep in range(reps):
            # Rotate the order so no set-up always runs first, or always right after another.
            order = setups[rep % len(setups) :] + setups[: rep % len(setups)]
            for setup in order:
                runs.append(run_setup(setup, rep, shared, settings))
    finally:
        shared.stop()

    report = {
        'environment': run.environment(),
        'settings': settings.__dict__,
        'reps': reps,
        'quick': args.quick,
        'setups': [s.__dict__ for s in setups],
        'load_averages': {'start': loads_start, 'end': load_averages()},
        'runs': runs,
        'duration_s': time.monotonic() - started,
    }
    report['summary'] = outage_report.summarize(report)
    outage_report.print_summary(report)
    RESULTS.mkdir(exist_ok=True)
    full = not args.quick and len(setups) == len(SETUPS)
    path = RESULT if full else RESULTS / ('outage-quick.json' if args.quick else 'outage-partial.json')
    path.write_text(json.dumps(report, indent=2) + '\n')
    log(f'wrote {path.relative_to(run.ROOT)}')
    if full and not args.no_doc:
        outage_report.write_doc(outage_report.markdown(report))
        log('updated docs/Benchmarks.md')


if __name__ == '__main__':
    main()
