"""Overhead benchmark: no agent, apache-skywalking, OpenTelemetry and skywalking-rs, side by side, in one run.

    python bench/run.py            # the full run (about 8 minutes on 2 cores)
    python bench/run.py --quick    # a smoke run with a tenth of the iterations and one repetition

Prepares what it needs (skipped with --skip-setup when it is there): one virtualenv per
contender under bench/.venvs/ (reused when present, with the same pins), a release wheel of
this checkout for skywalking-rs, and the release build of the local collector. It then
starts three sinks: the collector (SkyWalking's gRPC protocol), an OTLP/gRPC span counter,
and W2's plain downstream HTTP server, none of them traced. Every repetition of a workload
starts a fresh process per contender, all at once, and hands their loops turns of a chunk
in rotation, each process frozen outside its turns, so that the machine's drifting speed
falls on all of them alike; see workloads/harness.py for what one process does.

Writes bench/results/latest.json and the generated part of docs/Benchmarks.md, and prints the
table. Standard library only: it runs with any python3 >= 3.10.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENVS = BENCH / '.venvs'
RESULTS = BENCH / 'results'
LOGS = RESULTS / 'logs'
DOC = ROOT / 'docs' / 'Benchmarks.md'
# cargo's target directory: CARGO_TARGET_DIR when set (one per worktree), else target/.
COLLECTOR = Path(os.environ.get('CARGO_TARGET_DIR') or ROOT / 'target') / 'release' / 'sw-collector'

# Pinned so that runs on different days compare the same code.
APP_PINS = [
    'flask==3.1.3',
    'requests==2.34.2',
    'werkzeug==3.1.9',
    'django==5.2.20',
    'fastapi==0.165.0',
    'starlette==1.10.0',
    'httpx==0.29.0',
    'grpcio==1.85.4',
    'psycopg2-binary==2.9.10',
    'redis==5.2.1',
]
UPSTREAM_VERSION = '1.3.0'
OTEL_PINS = [
    'opentelemetry-sdk==1.45.1',
    'opentelemetry-exporter-otlp-proto-grpc==1.45.1',
    'opentelemetry-instrumentation-flask==0.66b1',
    'opentelemetry-instrumentation-requests==0.66b1',
    'opentelemetry-instrumentation-django==0.66b1',
    'opentelemetry-instrumentation-fastapi==0.66b1',
    'opentelemetry-instrumentation-httpx==0.66b1',
    'opentelemetry-instrumentation-grpc==0.66b1',
    'opentelemetry-instrumentation-psycopg2==0.66b1',
    'opentelemetry-instrumentation-redis==0.66b1',
]

CONTENDERS = ['none', 'upstream', 'otel', 'rs']
LABELS = {
    'none': 'no agent',
    'upstream': f'apache-skywalking {UPSTREAM_VERSION}',
    'otel': 'OpenTelemetry',
    'rs': 'skywalking-rs',
}
VENV_OF = {'none': 'baseline', 'upstream': 'upstream', 'otel': 'otel', 'rs': 'rs'}
SKYWALKING = ('upstream', 'rs')
#: `--candidate VENV`: another build of skywalking-rs, run as `rs` from its own venv, so that
#: two builds meet the same moments of the machine (builds timed in separate runs differ by
#: the host's drift, up to a third of the overhead: see docs/Benchmarks.md).
CANDIDATE = 'candidate'
AGENT_OF = {CANDIDATE: 'rs'}
#: How the rs venv's wheel was built (bench/.venvs/rs/.bench-build), by `--pgo`.
RS_BUILDS = {False: 'release', True: 'release, profile-guided (bench/pgo_wheel.py)'}

WORKLOADS = {
    # `chunk`: iterations per turn (a few tenths of a second of one contender at a time).
    'w1': {
        'script': 'w1_flask.py',
        'n': 20000,
        'warmup': 200,
        'chunk': 1000,
        'unit': 'request',
        'title': 'W1 Flask endpoint',
    },
    'w2': {
        'script': 'w2_outgoing.py',
        # The agents add 3-60 % to a request that costs ~2 ms, and a turn's CPU varies by ~13 %
        # on a shared machine: 6000 requests give the overhead a 95 % interval of ~±35 µs.
        'n': 6000,
        'warmup': 50,
        'chunk': 100,
        'unit': 'request',
        'title': 'W2 Flask + requests',
    },
    'w3': {
        'script': 'w3_spans.py',
        'n': 100000,
        'warmup': 1000,
        # Longer turns than the others: skywalking-rs makes 5000 spans in ~15 ms, too short a
        # turn to be measured apart from the cache refill after another process's turn.
        'chunk': 20000,
        'unit': 'span',
        'title': 'W3 manual spans',
    },
    'w4': {
        'script': 'w4_django.py',
        'n': 20000,
        'warmup': 200,
        'chunk': 1000,
        'unit': 'request',
        'title': 'W4 Django view',
    },
    'w5': {
        'script': 'w5_fastapi.py',
        'n': 20000,
        'warmup': 200,
        'chunk': 1000,
        'unit': 'request',
        'title': 'W5 FastAPI endpoint',
    },
    'l1': {
        'script': 'l1_logs.py',
        'n': 50000,
        'warmup': 1000,
        'chunk': 5000,
        'unit': 'logged line',
        'title': 'L1 logged lines, log reporter on',
        # OpenTelemetry has no log reporter to compare with here.
        'contenders': ('none', 'upstream', 'rs'),
        # What the sink counts: log records, not segments.
        'counts': 'logs',
    },
    'w6': {
        'script': 'w6_async_grpc.py',
        # Like W2: a request costs a few ms (an httpx call and a gRPC call to other processes).
        'n': 4000,
        'warmup': 50,
        'chunk': 100,
        'unit': 'request',
        'title': 'W6 Flask + httpx async + gRPC unary',
    },
    'w7': {
        'script': 'w7_db_cache.py',
        # A request costs a few hundred µs of client CPU plus three round trips to the local
        # PostgreSQL and Redis (their CPU is not counted).
        'n': 6000,
        'warmup': 60,
        'chunk': 200,
        'unit': 'request',
        'title': 'W7 Flask + PostgreSQL query + two Redis calls',
    },
}

DELIVERY_DEADLINE_S = 30.0  # after the loop, at most this long for the sink to count everything
DELIVERY_QUIET_S = 8.0  # ... or stop waiting when nothing arrived for this long (> OTel's 5 s batch delay)
POLL_S = 0.2
PROCESS_TIMEOUT_S = 300.0

TARGETS = {
    'overhead_vs_upstream': 0.1,  # W1, W2, W4-W7: skywalking-rs overhead <= 0.1 x apache-skywalking's
    'w3_overhead_us': 3.0,  # W3: <= 3 us per span
    'l1_overhead_vs_upstream': 0.1,  # L1: <= 0.1 x apache-skywalking's CPU per logged line
    'delivered': 1.0,  # 100 % of segments, default settings
    'rss_delta_mib': 15.0,  # peak RSS <= 15 MiB above no agent
}


def log(message: str) -> None:
    print(f'[bench {time.strftime("%H:%M:%S")}] {message}', flush=True)


# ---------------------------------------------------------------------------------------------
# Preparation: virtualenvs, the skywalking-rs wheel, the collector


def venv_python(name: str) -> Path:
    return VENVS / name / 'bin' / 'python'


def pip(name: str, *args: str) -> None:
    subprocess.run([str(venv_python(name)), '-m', 'pip', 'install', '--quiet', *args], check=True)


def ensure_venv(name: str, spec: list[str], install) -> None:
    """Creates the venv and installs into it, unless it was made from the same `spec` before."""
    marker = VENVS / name / '.bench-spec'
    wanted = '\n'.join(spec)
    if venv_python(name).exists() and marker.exists() and marker.read_text() == wanted:
        return
    log(f'preparing venv {name}')
    if (VENVS / name).exists():
        shutil.rmtree(VENVS / name)
    subprocess.run([sys.executable, '-m', 'venv', str(VENVS / name)], check=True)
    install()
    marker.write_text(wanted)


def ensure_maturin() -> Path:
    """maturin, in the build venv."""
    ensure_venv('build', ['maturin>=1.7,<2'], lambda: pip('build', 'maturin>=1.7,<2'))
    return VENVS / 'build' / 'bin' / 'maturin'


def build_rs_wheel() -> Path:
    """A release wheel of this checkout, built by maturin (from the build venv) on the shared target/."""
    maturin = ensure_maturin()
    out = VENVS / 'wheels'
    if out.exists():
        shutil.rmtree(out)
    log('building the skywalking-rs release wheel (maturin build --release)')
    with open(LOGS / 'maturin.log', 'w') as logfile:
        subprocess.run(
            [str(maturin), 'build', '--release', '-i', str(venv_python('build')), '-o', str(out)],
            cwd=ROOT,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            check=True,
        )
    wheels = sorted(out.glob('skywalking_rs-*.whl'))
    if len(wheels) != 1:
        raise SystemExit(f'expected one skywalking-rs wheel in {out}, found {wheels}')
    return wheels[0]


def build_collector() -> None:
    log('building the collector (cargo build --release -p sw-collector)')
    subprocess.run(['cargo', 'build', '--release', '--quiet', '-p', 'sw-collector'], cwd=ROOT, check=True)


def prepare(skip_build: bool, pgo: bool = False) -> None:
    VENVS.mkdir(exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    ensure_venv('baseline', APP_PINS, lambda: pip('baseline', *APP_PINS))
    # The 1.3.0 wheel on PyPI lacks the generated skywalking.protocol package (the import fails);
    # the sdist has it, so the replaced agent is installed from source.
    upstream = [*APP_PINS, f'apache-skywalking=={UPSTREAM_VERSION}', '--no-binary=apache-skywalking']
    ensure_venv('upstream', upstream, lambda: pip('upstream', *upstream))
    ensure_venv('otel', [*APP_PINS, *OTEL_PINS], lambda: pip('otel', *APP_PINS, *OTEL_PINS))
    if skip_build and venv_python('rs').exists():
        return
    if pgo:
        import pgo_wheel  # its training runs bench/instructions.py's cases, with the collector

        build_collector()
        wheel = pgo_wheel.build(VENVS / 'wheels-pgo')
    else:
        wheel = build_rs_wheel()
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    ensure_venv('rs', [*APP_PINS], lambda: pip('rs', *APP_PINS))
    marker = VENVS / 'rs' / '.bench-wheel'
    if not marker.exists() or marker.read_text() != digest:
        log('installing the skywalking-rs wheel into venv rs')
        pip('rs', '--force-reinstall', '--no-deps', str(wheel))
        pip('rs', str(wheel))  # its own dependencies
        marker.write_text(digest)
    (VENVS / 'rs' / '.bench-build').write_text(RS_BUILDS[pgo])
    if not pgo:
        build_collector()


def check_rs_release() -> str:
    probe = 'import skywalking._core as c; print(c.__version__, c.build_profile)'
    out = subprocess.run([str(venv_python('rs')), '-c', probe], capture_output=True, text=True, check=True).stdout
    version, profile = out.split()
    if profile != 'release':
        raise SystemExit(f'skywalking-rs in bench/.venvs/rs is a {profile} build; benchmarks need release')
    return version


# ---------------------------------------------------------------------------------------------
# Sinks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc), 0 when unreadable."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def load_average() -> float:
    """1-minute load average: other work on the machine shows up here (and as noise)."""
    try:
        return float(Path('/proc/loadavg').read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0


def http_json(url: str, method: str = 'GET'):
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body.strip().startswith((b'{', b'[')) else body


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if check():
                return
        time.sleep(0.1)
    raise SystemExit(f'{what} did not come up within {timeout:.0f} s')


class Sinks:
    """The collector, the OTLP span counter and W2's downstream server, started once per run."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.pids: dict[str, int] = {}
        self.grpc = f'127.0.0.1:{free_port()}'
        self.http = f'http://127.0.0.1:{free_port()}'
        self.otlp_grpc = f'127.0.0.1:{free_port()}'
        self.otlp_http = f'http://127.0.0.1:{free_port()}'
        self.downstream = f'http://127.0.0.1:{free_port()}/downstream'
        self.grpc_downstream = f'127.0.0.1:{free_port()}'

    def _spawn(self, name: str, argv: list[str]) -> None:
        logfile = open(LOGS / f'{name}.log', 'w')
        self.procs.append(subprocess.Popen(argv, stdout=logfile, stderr=subprocess.STDOUT))
        self.pids[name] = self.procs[-1].pid

    def cpu_s(self, contender: str) -> float:
        """CPU seconds used so far by the sink that `contender` reports to (to show it is no bottleneck)."""
        return process_cpu_s(self.pids['otlp_sink' if contender == 'otel' else 'collector'])

    def start(self) -> None:
        # Room for one W3 round (both SkyWalking agents); the store is cleared before each round.
        # The byte budget too: at the default 64 MiB the store evicts part of a W3 round (about
        # 100,000 segments), and what it no longer holds would read as not delivered.
        self._spawn(
            'collector',
            [
                str(COLLECTOR),
                '--grpc',
                self.grpc,
                '--http',
                self.http.removeprefix('http://'),
                '--max-segments',
                '250000',
                '--max-logs',
                '250000',
                '--max-mib',
                '1024',
            ],
        )
        otlp = [str(venv_python('otel')), str(BENCH / 'servers' / 'otlp_sink.py')]
        self._spawn('otlp_sink', [*otlp, self.otlp_grpc.rsplit(':', 1)[1], self.otlp_http.rsplit(':', 1)[1]])
        port = self.downstream.rsplit(':', 1)[1].split('/')[0]
        self._spawn('downstream', [sys.executable, str(BENCH / 'servers' / 'downstream.py'), port])
        grpc_port = self.grpc_downstream.rsplit(':', 1)[1]
        grpc_server = [str(venv_python('baseline')), str(BENCH / 'servers' / 'grpc_downstream.py'), grpc_port]
        self._spawn('grpc_downstream', grpc_server)
        wait_until(lambda: http_json(f'{self.http}/api/stats'), 30, 'the collector')
        wait_until(lambda: http_json(f'{self.otlp_http}/counts'), 30, 'the OTLP sink')
        wait_until(lambda: urllib.request.urlopen(self.downstream, timeout=5).read(), 30, 'the downstream server')

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def backend(self, contender: str) -> str:
        return self.otlp_grpc if contender == 'otel' else self.grpc

    def received(self, contender: str, service: str, counts: str = 'segments') -> int:
        """What the sink holds for `service`: segments or log records (the collector, cleared
        every round) or spans (OTLP sink)."""
        if contender == 'otel':
            return http_json(f'{self.otlp_http}/counts')['spans'].get(service, 0)
        for entry in http_json(f'{self.http}/api/services'):
            if entry['name'] == service:
                return entry.get(counts, 0)
        return 0

    def reset_collector(self) -> None:
        http_json(f'{self.http}/receiveData', method='DELETE')


# ---------------------------------------------------------------------------------------------
# One measurement


class Driver:
    """One driver process and a thread reading its stdout, so that reads can time out."""

    def __init__(self, argv: list[str], logfile: Path) -> None:
        self._log = open(logfile, 'w')
        env = {k: v for k, v in os.environ.items() if not k.startswith(('SW_', 'OTEL_', 'PYTHON'))}
        # A driver that crashes says where in its log (stderr): a fault costs nothing until then.
        env['PYTHONFAULTHANDLER'] = '1'
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def expect(self, event: str, timeout: float = PROCESS_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f'no {event!r} from the driver within {timeout:.0f} s')
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f'the driver exited ({self.proc.wait()}) before {event!r}; see {self._log.name}')
            if line.startswith(f'BENCH {event} '):
                return json.loads(line.split(' ', 2)[2])
            self._log.write(f'[stdout] {line}')

    def pause(self) -> None:
        """Freezes the driver's whole process (every thread) until `resume`."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + '\n')
            self.proc.stdin.flush()
        except BrokenPipeError:
            # Say how it ended (a negative status is the signal that ended it).
            status = self.proc.wait()
            raise RuntimeError(f'the driver exited ({status}) before {line!r}; see {self._log.name}') from None

    def close(self) -> None:
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def settled_count(sinks: Sinks, contender: str, service: str, counts: str = 'segments') -> int:
    """The final count, once two reads half a second apart agree (stop() may have just flushed)."""
    previous = -1
    for _ in range(20):
        count = sinks.received(contender, service, counts)
        if count == previous:
            return count
        previous = count
        time.sleep(0.5)
    return previous


class Measured:
    """One contender's driver process in a round, and what the sink has counted of it."""

    def __init__(self, sinks: Sinks, workload: str, contender: str, rep: int, n: int, warmup: int, chunk: int):
        self.contender = contender
        self.service = f'bench-{workload}-{contender}-{rep}'
        argv = [
            str(venv_python(VENV_OF[contender])),
            str(BENCH / 'workloads' / WORKLOADS[workload]['script']),
            *('--contender', AGENT_OF.get(contender, contender), '--service', self.service),
            *('--backend', sinks.backend(contender)),
            *('--n', str(n), '--warmup', str(warmup), '--downstream', sinks.downstream, '--chunk', str(chunk)),
            *('--grpc-downstream', sinks.grpc_downstream),
        ]
        self.driver = Driver(argv, LOGS / f'{self.service}.log')
        self.counts = WORKLOADS[workload].get('counts', 'segments')
        self.produced = 0
        self.seen = 0
        self.waited: float | None = None  # set once the delivery wait is over
        self.last_change: float | None = None  # when the sink's count last moved

    def delivery_over(self, sinks: Sinks, started: float) -> bool:
        """True once the sink has everything, nothing new came for DELIVERY_QUIET_S, or the deadline passed."""
        now = time.monotonic()
        count = sinks.received(self.contender, self.service, self.counts) if self.produced else 0
        if count != self.seen:
            self.seen, self.last_change = count, now
        quiet_since = started if self.last_change is None else self.last_change
        return count >= self.produced or now - started >= DELIVERY_DEADLINE_S or now - quiet_since >= DELIVERY_QUIET_S


def run_round(sinks: Sinks, workload: str, order: list[str], rep: int, scale: float) -> list[dict]:
    """One repetition of `workload`: every contender's process at once, their loops in turns of a chunk.

    Outside its turns a process is frozen (SIGSTOP, every thread): its reporter cannot compete
    with another contender's turn for the second core, nor catch up on its own backlog while
    others run; each process meets the machine as if it ran alone, in slices. Each measures
    its own CPU; after the loops all run freely until the sink has what they produced, and
    each is stopped as soon as it has.
    """
    spec = WORKLOADS[workload]
    n, warmup = max(1, int(spec['n'] * scale)), max(1, int(spec['warmup'] * scale))
    chunk = max(1, int(spec['chunk'] * scale))
    sinks.reset_collector()
    sink_cpu0 = {c: sinks.cpu_s(c) for c in order}
    load = load_average()
    procs = {c: Measured(sinks, workload, c, rep, n, warmup, chunk) for c in order}
    try:
        for proc in procs.values():
            proc.driver.expect('ready')
            proc.driver.pause()
        for turn in range(-(-n // chunk)):
            # The order rotates every turn, so no contender always follows the same one.
            for contender in order[turn % len(order) :] + order[: turn % len(order)]:
                driver = procs[contender].driver
                driver.resume()
                driver.send('go')
                driver.expect('chunk_done')
                driver.pause()
        for proc in procs.values():
            proc.driver.resume()
            proc.produced = proc.driver.expect('loop_done')['produced']
        started = time.monotonic()
        while any(proc.waited is None for proc in procs.values()):
            for proc in procs.values():
                if proc.waited is None and proc.delivery_over(sinks, started):
                    proc.waited = time.monotonic() - started
                    proc.driver.send('go')  # stop: flush what is left, report
            time.sleep(POLL_S)
        results = {c: proc.driver.expect('result') for c, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.driver.resume()  # a failure mid-turn must not leave a frozen process behind
            proc.driver.close()
    runs = []
    for contender, proc in procs.items():
        if proc.driver.proc.returncode != 0:
            raise RuntimeError(f'{proc.service}: driver exited with {proc.driver.proc.returncode}')
        received = settled_count(sinks, contender, proc.service, proc.counts) if proc.produced else 0
        result = results[contender]
        result.update(
            {
                'workload': workload,
                'contender': contender,
                'rep': rep,
                'service': proc.service,
                'chunk': chunk,
                'received': received,
                'received_before_stop': proc.seen,
                'delivery_wait_s': proc.waited,
                'delivered': received / proc.produced if proc.produced else None,
                # The sink's CPU over the whole round (the collector serves both SkyWalking agents).
                'sink_cpu_s': sinks.cpu_s(contender) - sink_cpu0[contender],
                'load_average_before': load,
            }
        )
        runs.append(result)
    return runs


# ---------------------------------------------------------------------------------------------
# Aggregation and reports


def median(runs: list[dict], key: str):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def paired_overhead(mine: list[dict], base: list[dict]) -> dict:
    """A contender's CPU over no agent's, per op, from the turns of the same rounds.

    Each turn of the contender is paired with no agent's turn of the same rotation (they ran
    within a second of each other); the overhead is the mean of those differences plus the
    difference in what the processes used outside their turns (the reporter delivering while
    others had their turn, and stopping). The interval is the mean's 95 % confidence
    interval over the pairs: the machine's speed varies from turn to turn by more than the
    smallest overheads measured here, and the interval says how much that leaves unsettled.
    """
    base_by_rep = {r['rep']: r for r in base}
    diffs, outside = [], []
    for run in mine:
        other = base_by_rep.get(run['rep'])
        if other is None or not run.get('cpu_turns_s') or not other.get('cpu_turns_s'):
            continue
        chunk, n = run['chunk'], run['n']
        sizes = [min(chunk, n - start) for start in range(0, n, chunk)]  # the last turn may be short
        turns = zip(run['cpu_turns_s'], other['cpu_turns_s'], sizes, strict=True)
        diffs += [(a - b) / size * 1e6 for a, b, size in turns]
        outside.append(
            (run['cpu_total_s'] - sum(run['cpu_turns_s'])) / run['n'] * 1e6
            - (other['cpu_total_s'] - sum(other['cpu_turns_s'])) / other['n'] * 1e6
        )
    if len(diffs) < 2:
        return {}
    in_loop = statistics.fmean(diffs)
    return {
        'overhead_us': in_loop + statistics.fmean(outside),
        'overhead_loop_us': in_loop,
        'overhead_ci_us': 1.96 * statistics.stdev(diffs) / len(diffs) ** 0.5,
        'pairs': len(diffs),
    }


def summarize(runs: list[dict]) -> dict:
    """Medians per workload and contender, then the paired overheads and their ratios."""
    summary: dict[str, dict] = {}
    for workload in WORKLOADS:
        rows: dict[str, dict] = {}
        for contender in CONTENDERS:
            mine = [r for r in runs if r['workload'] == workload and r['contender'] == contender]
            if not mine:
                continue
            n = mine[0]['n']
            totals = [r['cpu_total_s'] / n * 1e6 for r in mine]
            rows[contender] = {
                'reps': len(mine),
                'cpu_us': statistics.median(totals),
                'cpu_us_min': min(totals),
                'cpu_us_max': max(totals),
                'cpu_loop_us': median(mine, 'cpu_loop_s') * 1e6 / n,
                'cpu_loop_thread_us': median(mine, 'cpu_loop_thread_s') * 1e6 / n,
                'wall_loop_us': median(mine, 'wall_loop_s') * 1e6 / n,
                'stop_s': median(mine, 'stop_s'),
                'delivery_wait_s': median(mine, 'delivery_wait_s'),
                'produced': mine[0]['produced'],
                'received': median(mine, 'received'),
                'delivered': median(mine, 'delivered'),
                'delivered_min': min((r['delivered'] for r in mine if r['delivered'] is not None), default=None),
                'peak_rss_mib': median(mine, 'peak_rss_kib') / 1024,
                'ru_maxrss_mib': median(mine, 'ru_maxrss_kib') / 1024,
            }
        base = rows.get('none')
        base_runs = [r for r in runs if r['workload'] == workload and r['contender'] == 'none']
        for contender, row in rows.items():
            if base and contender != 'none':
                mine = [r for r in runs if r['workload'] == workload and r['contender'] == contender]
                # Runs recorded before turns existed (older JSON, --render) fall back to medians.
                row.update(
                    paired_overhead(mine, base_runs)
                    or {
                        'overhead_us': row['cpu_us'] - base['cpu_us'],
                        'overhead_loop_us': row['cpu_loop_us'] - base['cpu_loop_us'],
                        'overhead_ci_us': None,
                    }
                )
                row['x_none'] = row['cpu_us'] / base['cpu_us']
                row['rss_delta_mib'] = row['peak_rss_mib'] - base['peak_rss_mib']
        upstream = rows.get('upstream', {})
        up = upstream.get('overhead_us')
        if up:
            upstream['overhead_x_upstream'] = 1.0
        for row in rows.values():
            if upstream:
                row['x_upstream'] = row['cpu_us'] / upstream['cpu_us']
            mine = row.get('overhead_us')
            if up and up > 0 and mine is not None and row is not upstream:
                ratio = mine / up
                row['overhead_x_upstream'] = ratio
                ci, up_ci = row['overhead_ci_us'], upstream['overhead_ci_us']
                if ci is not None and up_ci is not None:
                    # Both overheads are uncertain; their relative errors add (first order).
                    row['overhead_x_upstream_ci'] = ((ci / up) ** 2 + (ratio * up_ci / up) ** 2) ** 0.5
        summary[workload] = rows
    return summary


def check_targets(summary: dict) -> list[dict]:
    """The project's targets for skywalking-rs, each with the measured value and met or not."""
    checks = []

    def add(name: str, value, limit, met) -> None:
        checks.append({'target': name, 'value': value, 'limit': limit, 'met': bool(met)})

    for workload in ('w1', 'w2', 'w4', 'w5', 'w6', 'w7'):
        row = summary.get(workload, {}).get('rs', {})
        if 'overhead_x_upstream' in row:
            limit = TARGETS['overhead_vs_upstream']
            value = row['overhead_x_upstream']
            add(f'{workload.upper()} overhead <= {limit} x apache-skywalking', value, limit, value <= limit)
            checks[-1]['ci'] = row.get('overhead_x_upstream_ci')
    row = summary.get('l1', {}).get('rs', {})
    if 'overhead_x_upstream' in row:
        limit = TARGETS['l1_overhead_vs_upstream']
        value = row['overhead_x_upstream']
        add(f'L1 overhead per logged line <= {limit} x apache-skywalking', value, limit, value <= limit)
        checks[-1]['ci'] = row.get('overhead_x_upstream_ci')
    row = summary.get('w3', {}).get('rs', {})
    if 'overhead_us' in row:
        limit = TARGETS['w3_overhead_us']
        add(f'W3 overhead <= {limit} us per span', row['overhead_us'], limit, row['overhead_us'] <= limit)
        checks[-1]['ci'] = row.get('overhead_ci_us')
    for workload, rows in summary.items():
        row = rows.get('rs', {})
        if row.get('delivered_min') is not None:
            # All of them, in every repetition: the worst one is what counts.
            worst = row['delivered_min']
            what = WORKLOADS.get(workload, {}).get('counts', 'segments').replace('logs', 'log records')
            add(f'{workload.upper()} {what} delivered = 100 % (worst repetition)', worst, 1.0, worst >= 1.0)
    for workload, rows in summary.items():
        row = rows.get('rs', {})
        if 'rss_delta_mib' in row:
            limit = TARGETS['rss_delta_mib']
            add(
                f'{workload.upper()} peak RSS <= no agent + {limit:.0f} MiB',
                row['rss_delta_mib'],
                limit,
                row['rss_delta_mib'] <= limit,
            )
    return checks


def fmt(value, spec: str, suffix: str = '') -> str:
    return '-' if value is None else f'{value:{spec}}{suffix}'


def with_ci(value, ci, spec: str, suffix: str = '') -> str:
    if value is None:
        return '-'
    return f'{value:{spec}}{suffix}' if ci is None else f'{value:{spec}}{suffix} ± {ci:{spec}}'


COLUMNS = [
    ('contender', 'contender'),
    ('cpu', 'CPU µs/op'),
    ('range', 'min-max'),
    ('x_none', 'x no agent'),
    ('overhead', 'overhead µs/op (95 % CI)'),
    ('ovh_up', 'overhead x apache-sw'),
    ('loop', 'in-loop overhead µs/op'),
    ('delivered', 'delivered'),
    ('rss', 'peak RSS MiB'),
    ('rss_delta', 'Δ RSS MiB'),
]


def table_rows(summary: dict) -> dict[str, list[list[str]]]:
    """Per workload, the table's cells for each contender."""
    out = {}
    for workload, rows in summary.items():
        body = []
        for contender, row in rows.items():
            agent = contender != 'none'
            delivered = row['delivered']
            body.append(
                [
                    LABELS[contender],
                    fmt(row['cpu_us'], '.2f'),
                    f'{row["cpu_us_min"]:.2f}-{row["cpu_us_max"]:.2f}',
                    fmt(row.get('x_none'), '.2f', 'x'),
                    with_ci(row.get('overhead_us'), row.get('overhead_ci_us'), '.2f') if agent else '-',
                    with_ci(row.get('overhead_x_upstream'), row.get('overhead_x_upstream_ci'), '.3f', 'x')
                    if agent
                    else '-',
                    fmt(row.get('overhead_loop_us'), '.2f') if agent else '-',
                    '-' if delivered is None else f'{delivered * 100:.1f} % ({row["received"]:.0f}/{row["produced"]})',
                    fmt(row['peak_rss_mib'], '.1f'),
                    fmt(row.get('rss_delta_mib'), '+.1f') if agent else '-',
                ]
            )
        out[workload] = body
    return out


def print_table(summary: dict, n_by_workload: dict) -> None:
    headers = [h for _key, h in COLUMNS]
    for workload, body in table_rows(summary).items():
        if workload not in n_by_workload:
            continue  # not run this time (--workloads)
        spec = WORKLOADS[workload]
        print(f'\n{spec["title"]}: {n_by_workload[workload]} {spec["unit"]}s per process, per {spec["unit"]}')
        widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
        print('  '.join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        for r in body:
            print('  '.join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def reference_line(env: dict) -> list[str]:
    loop = env.get('reference_loop_ms')
    if not loop:
        return []
    return [
        f'Host speed: the reference loop (`REFERENCE_LOOP` in bench/run.py) took {loop[0]:.1f} ms before the '
        f'measurements and {loop[1]:.1f} ms after them (11-12 ms on the Intel host of earlier runs).',
        '',
    ]


def markdown(report: dict) -> str:
    env = report['environment']
    lines = [
        f'Run of {env["date"]} on {env["cpu_model"]} ({env["cores"]} cores), Linux {env["kernel"]}, '
        f'Python {env["python"]}; skywalking-rs at commit {env["git_commit"]} '
        f'({env.get("rs_build", RS_BUILDS[False])} build); {report["reps"]} repetitions '
        f'(CPU columns: medians; overheads: means over paired turns, ± their 95 % interval); the whole run took '
        f'{report["duration_s"] / 60:.1f} min.',
        '',
        *reference_line(env),
        'Packages: ' + ', '.join(f'{k} {v}' for k, v in env['packages'].items()) + '.',
        '',
    ]
    headers = [h for _key, h in COLUMNS]
    for workload, body in table_rows(report['summary']).items():
        spec = WORKLOADS[workload]
        n = report['n'][workload]
        lines += [f'### {spec["title"]}: {n:,} {spec["unit"]}s per process, numbers per {spec["unit"]}', '']
        lines += ['| ' + ' | '.join(headers) + ' |', '|' + '|'.join(['---'] + ['---:'] * (len(headers) - 1)) + '|']
        lines += ['| ' + ' | '.join(r) + ' |' for r in body]
        lines.append('')
    lines += ['### skywalking-rs against the targets', '', '| target | measured | met |', '|---|---:|:---:|']
    for check in report['targets']:
        value = check['value']
        shown = f'{value * 100:.2f} %' if 'delivered' in check['target'] else with_ci(value, check.get('ci'), '.3f')
        lines.append(f'| {check["target"]} | {shown} | {"yes" if check["met"] else "**no**"} |')
    lines.append('')
    breakdown = report.get('w3_breakdown') or {}
    if breakdown:
        lines += [
            '### W3 taken apart (µs per iteration, median of rounds)',
            '',
            'Each variant is a loop of its own in one process per contender; *thread* is the CPU of the',
            'application thread, *process* adds what other threads (the reporter) used during the loop,',
            '*tail* is the process CPU in a pause after the loop (the reporter sending what was queued).',
            '',
        ]
        contenders = list(breakdown)
        head = ['variant'] + [f'{LABELS[c]} {k}' for c in contenders for k in ('thread', 'process', 'tail')]
        lines += ['| ' + ' | '.join(head) + ' |', '|' + '|'.join(['---'] + ['---:'] * (len(head) - 1)) + '|']
        names = list(breakdown[contenders[0]]['variants'])
        for name in names:
            cells = [name.replace('|', '\\|')]
            for c in contenders:
                v = breakdown[c]['variants'].get(name, {})
                cells += [fmt(v.get(k), '.2f') for k in ('thread_us', 'process_us', 'tail_us')]
            lines.append('| ' + ' | '.join(cells) + ' |')
        lines.append('')
        lines.append(
            'Iterations per variant: '
            + ', '.join(f'{LABELS[c]} {breakdown[c]["n"]:,} x {breakdown[c]["rounds"]} rounds' for c in contenders)
            + '.'
        )
        lines.append('')
    lines += w1_breakdown_markdown(report.get('w1_breakdown') or {})
    return '\n'.join(lines)


def w1_breakdown_markdown(w1: dict) -> list[str]:
    if not w1:
        return []
    names = {
        'rs': 'skywalking-rs',
        'rs_no_backend': 'skywalking-rs, backend unreachable',
        'upstream': LABELS['upstream'],
    }
    columns = [c for c in names if c in w1]
    lines = [
        '### W1 taken apart (application-thread CPU µs per request, median of rounds)',
        '',
        'One process per column (workloads/w1_breakdown.py): W1 requests before and after the agent',
        'starts, then each part of the Flask plugin\'s work on its own. "Backend unreachable" points',
        'skywalking-rs at a port nobody listens on, so its reporter never sends.',
        '',
        '| | ' + ' | '.join(names[c] for c in columns) + ' |',
        '|---|' + '---:|' * len(columns),
    ]

    def row(label: str, get) -> None:
        cells = []
        for c in columns:
            try:
                cells.append(f'{get(w1[c]):.2f}')
            except (KeyError, TypeError):
                cells.append('-')
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')

    row('request, agent not started', lambda r: r['request_without_agent']['thread_us'])
    row('request, agent started', lambda r: r['request_with_agent']['thread_us'])
    row(
        '**agent cost, application thread**',
        lambda r: r['request_with_agent']['thread_us'] - r['request_without_agent']['thread_us'],
    )
    row(
        'agent cost, whole process (adds the reporter thread)',
        lambda r: r['request_with_agent']['process_us'] - r['request_without_agent']['process_us'],
    )
    for part in w1[columns[0]]['parts_thread_us']:
        row(f'part: {part}', lambda r, part=part: r['parts_thread_us'][part])
    lines.append('')
    return lines


BEGIN = '<!-- bench:begin (generated by bench/run.py; edits here are overwritten) -->'
END = '<!-- bench:end -->'


def write_doc(text: str) -> None:
    if DOC.exists():
        doc = DOC.read_text()
    else:
        doc = f'# Benchmarks\n\n{BEGIN}\n{END}\n'
    if BEGIN not in doc or END not in doc:
        doc = doc.rstrip('\n') + f'\n\n## Latest run\n\n{BEGIN}\n{END}\n'
    head, rest = doc.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    DOC.write_text(f'{head}{BEGIN}\n{text}\n{END}{tail}')


def package_versions() -> dict[str, str]:
    wanted = {
        'upstream': ['apache-skywalking', 'grpcio', 'protobuf'],
        'otel': [
            'opentelemetry-sdk',
            'opentelemetry-instrumentation-flask',
            'opentelemetry-exporter-otlp-proto-grpc',
            'opentelemetry-instrumentation-psycopg2',
            'opentelemetry-instrumentation-redis',
        ],
        'rs': ['skywalking-rs', 'flask', 'requests', 'werkzeug', 'psycopg2-binary', 'redis'],
    }
    versions = {}
    for venv, names in wanted.items():
        # A package a venv lacks (a --skip-setup run on a venv made before it was pinned) is
        # reported as such instead of losing the run's results.
        probe = (
            'import importlib.metadata as m\n'
            'def version(name):\n'
            '    try:\n'
            '        return m.version(name)\n'
            '    except m.PackageNotFoundError:\n'
            '        return "not-installed"\n'
            f'print(" ".join(version(n) for n in {names!r}))'
        )
        out = subprocess.run([str(venv_python(venv)), '-c', probe], capture_output=True, text=True, check=True)
        versions.update(dict(zip(names, out.stdout.split(), strict=True)))
    return versions


REFERENCE_LOOP = """
import time
times = []
for _ in range(15):
    start, s = time.thread_time(), 0
    for i in range(300_000):
        s += i * i
    times.append((time.thread_time() - start) * 1e3)
print(sorted(times)[len(times) // 2])
"""


def reference_loop_ms() -> float:
    """Median thread CPU ms of a fixed pure-Python loop: how fast this host runs Python right now.

    Shared hosts differ by 3x and more (11-12 ms on one Intel host, 27-58 ms on an AMD one
    whose speed changed at random moments), which absolute figures like W3's must be read
    against; run before and after the measurements.
    """
    out = subprocess.run([sys.executable, '-c', REFERENCE_LOOP], capture_output=True, text=True, check=True)
    return float(out.stdout)


def environment() -> dict:
    cpu_model = platform.processor() or 'unknown CPU'
    with contextlib.suppress(OSError):
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu_model = line.split(':', 1)[1].strip()
                break
    python = subprocess.run(
        [str(venv_python('rs')), '-c', 'import platform; print(platform.python_version())'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ['git', 'status', '--porcelain', '--', 'crates', 'python'], cwd=ROOT, capture_output=True, text=True
    )
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cores': os.cpu_count(),
        'cpu_model': cpu_model,
        'kernel': platform.release(),
        'python': python,
        'git_commit': commit.stdout.strip() + (' (with uncommitted changes)' if dirty.stdout.strip() else ''),
        'packages': package_versions(),
        'rs_build': rs_build(),
    }


def rs_build() -> str:
    marker = VENVS / 'rs' / '.bench-build'
    return marker.read_text() if marker.exists() else RS_BUILDS[False]


def breakdown_process(sinks: Sinks, script: str, event: str, contender: str, backend: str, extra: list[str]) -> dict:
    """Runs one breakdown script in `contender`'s venv and returns what it printed as ``BENCH <event>``."""
    sinks.reset_collector()
    name = f'{Path(script).stem}-{contender}' + ('-no-backend' if backend != sinks.grpc else '')
    argv = [
        str(venv_python(contender)),
        str(BENCH / 'workloads' / script),
        *('--contender', contender, '--backend', backend, '--service', f'bench-{name}', *extra),
    ]
    log(f'breakdown {name}')
    with open(LOGS / f'{name}.log', 'w') as logfile:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=logfile, text=True, timeout=PROCESS_TIMEOUT_S)
    for line in done.stdout.splitlines():
        if line.startswith(f'BENCH {event} '):
            return json.loads(line.split(' ', 2)[2])
    raise RuntimeError(f'{script} ({contender}) printed no result; see {logfile.name}')


def run_breakdowns(sinks: Sinks, scale: float) -> tuple[dict, dict]:
    """The W3 and W1 breakdowns (workloads/w3_breakdown.py, workloads/w1_breakdown.py)."""
    w3 = {}
    for contender, n in (('rs', 20000), ('upstream', 5000)):
        extra = ['--n', str(max(100, int(n * scale))), '--rounds', '3', '--pause', '1.0']
        w3[contender] = breakdown_process(sinks, 'w3_breakdown.py', 'breakdown', contender, sinks.grpc, extra)
    w1 = {}
    extra = ['--n', str(max(100, int(3000 * scale))), '--rounds', '3', '--pause', '1.0']
    w1['rs'] = breakdown_process(sinks, 'w1_breakdown.py', 'w1breakdown', 'rs', sinks.grpc, extra)
    # Nothing listens there: the reporter never connects, so what it costs the request while it
    # sends shows up as the difference to the run above.
    dead = f'127.0.0.1:{free_port()}'
    w1['rs_no_backend'] = breakdown_process(sinks, 'w1_breakdown.py', 'w1breakdown', 'rs', dead, extra)
    w1['upstream'] = breakdown_process(sinks, 'w1_breakdown.py', 'w1breakdown', 'upstream', sinks.grpc, extra)
    return w3, w1


def render(path: Path) -> None:
    """Recomputes medians and targets from the single measurements in `path`; rewrites it and the doc."""
    report = json.loads(path.read_text())
    report['summary'] = summarize(report['runs'])
    report['targets'] = check_targets(report['summary'])
    path.write_text(json.dumps(report, indent=2) + '\n')
    print_table(report['summary'], report['n'])
    write_doc(markdown(report))
    log(f'rewrote {path} and docs/Benchmarks.md')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--reps', type=int, default=5, help='repetitions per workload and contender (median)')
    parser.add_argument('--quick', action='store_true', help='a tenth of the iterations, one repetition, no doc')
    parser.add_argument('--skip-setup', action='store_true', help='use bench/.venvs and the collector as they are')
    parser.add_argument('--workloads', default=','.join(WORKLOADS), help='comma-separated, e.g. w1,w3')
    parser.add_argument(
        '--contenders', default=','.join(CONTENDERS), help='comma-separated subset of ' + ','.join(CONTENDERS)
    )
    parser.add_argument(
        '--candidate',
        metavar='VENV',
        help='also run the skywalking-rs build installed in bench/.venvs/VENV (a copy of the rs venv holding '
        'another wheel), as one more contender in the same turns; never written to the doc',
    )
    parser.add_argument(
        '--pgo',
        action='store_true',
        help="skywalking-rs as a profile-guided build (bench/pgo_wheel.py: about twice the plain build's time)",
    )
    parser.add_argument('--no-breakdown', action='store_true', help='skip the W3 breakdown')
    parser.add_argument('--no-doc', action='store_true', help='do not touch docs/Benchmarks.md')
    parser.add_argument('--render', metavar='JSON', help='only recompute the summary of a saved run and write the doc')
    args = parser.parse_args()
    if args.render:
        render(Path(args.render))
        return
    reps = 1 if args.quick else args.reps
    scale = 0.1 if args.quick else 1.0
    workloads = [w for w in args.workloads.split(',') if w]
    contenders = [c for c in CONTENDERS if c in args.contenders.split(',')]
    if args.candidate:
        if not venv_python(args.candidate).exists():
            raise SystemExit(f'bench/.venvs/{args.candidate} has no python')
        CONTENDERS.append(CANDIDATE)
        LABELS[CANDIDATE] = f'skywalking-rs ({args.candidate})'
        VENV_OF[CANDIDATE] = args.candidate
        contenders.append(CANDIDATE)
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        raise SystemExit(f'unknown workloads {sorted(unknown)}')

    started = time.monotonic()
    LOGS.mkdir(parents=True, exist_ok=True)
    prepare(skip_build=args.skip_setup, pgo=args.pgo)
    reference_before = reference_loop_ms()
    if not COLLECTOR.exists():
        raise SystemExit(f'{COLLECTOR} is missing: cargo build --release -p sw-collector')
    rs_version = check_rs_release()
    log(
        f'skywalking-rs {rs_version} (release); {len(workloads)} workloads x {len(contenders)} contenders x {reps} reps'
    )

    sinks = Sinks()
    runs: list[dict] = []
    breakdown: dict = {}
    w1_breakdown: dict = {}
    try:
        sinks.start()
        for rep in range(reps):
            for workload in workloads:
                # Rotate the order so no contender always takes the first turn.
                runs_here = WORKLOADS[workload].get('contenders', CONTENDERS)
                allowed = [c for c in contenders if AGENT_OF.get(c, c) in runs_here]
                order = allowed[rep % len(allowed) :] + allowed[: rep % len(allowed)]
                for result in run_round(sinks, workload, order, rep, scale):
                    runs.append(result)
                    shown = '' if result['delivered'] is None else f', delivered {result["delivered"] * 100:.1f} %'
                    log(
                        f'rep {rep + 1}/{reps} {workload} {LABELS[result["contender"]]:24} '
                        f'{result["cpu_total_s"] / result["n"] * 1e6:8.2f} µs/op{shown}, '
                        f'peak RSS {result["peak_rss_kib"] / 1024:.1f} MiB'
                    )
        if not args.no_breakdown and 'rs' in contenders:
            breakdown, w1_breakdown = run_breakdowns(sinks, scale)
    finally:
        sinks.stop()

    summary = summarize(runs)
    n_by_workload = {w: max(1, int(WORKLOADS[w]['n'] * scale)) for w in workloads}
    report = {
        'environment': {**environment(), 'reference_loop_ms': [reference_before, reference_loop_ms()]},
        'reps': reps,
        'quick': args.quick,
        'candidate': args.candidate,
        'n': n_by_workload,
        'delivery': {'deadline_s': DELIVERY_DEADLINE_S, 'quiet_s': DELIVERY_QUIET_S},
        'summary': summary,
        'targets': check_targets(summary),
        'w3_breakdown': breakdown,
        'w1_breakdown': w1_breakdown,
        'runs': runs,
        'duration_s': time.monotonic() - started,
    }
    print_table(summary, n_by_workload)
    print()
    for check in report['targets']:
        shown = with_ci(check['value'], check.get('ci'), '.3f')
        print(f'{"met    " if check["met"] else "MISSED "} {check["target"]}: {shown}')
    RESULTS.mkdir(exist_ok=True)
    # Only a full run replaces latest.json and the doc; anything smaller is kept beside them.
    full = not args.quick and workloads == list(WORKLOADS) and contenders == CONTENDERS and not args.candidate
    name = 'latest.json' if full else ('quick.json' if args.quick else 'partial.json')
    (RESULTS / name).write_text(json.dumps(report, indent=2) + '\n')
    log(f'wrote bench/results/{name}')
    if full and not args.no_doc:
        write_doc(markdown(report))
        log('updated docs/Benchmarks.md')


if __name__ == '__main__':
    main()
