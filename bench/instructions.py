"""Instructions per W1/W2/W6/W7 request (and per W3 span) over no agent, by valgrind's callgrind: a measure of the
agents' overhead that does not move with the machine's load (CPU-time runs do, a lot, on a
shared machine). Each figure is (instructions with N2 requests - with N1) / (N2 - N1), so
start-up cancels out. The application thread (the request path) and the other threads (the
reporters) are counted apart: under valgrind a process runs about 50 times slower, so a
reporter that sends what queued every 50 ms sends one segment per send instead of dozens,
and its count per request is far above what it costs at full speed (bench/run.py's CPU time
includes it as it really is).

With --cache, callgrind also simulates the caches and the application thread's misses per
request are printed too: L1 (instructions and data) and a 512 KB L2. On W6, by a rough fit,
the agent's misses cost its request path more time than its instructions (docs/Benchmarks.md).

    python3 bench/instructions.py        # after bench/run.py prepared bench/.venvs and the collector
    python3 bench/instructions.py --workloads w3 --kinds none,rs   # a part of it
    python3 bench/instructions.py --workloads w6 --no-gc --cache   # and the cache misses
    python3 bench/instructions.py --workloads w6 --kinds rs --no-gc --cache --native  # skywalking-rs's own code
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run

DRIVER = run.BENCH / 'workloads' / 'instructions_driver.py'
CASES = {
    'w1': (1000, 3000, ''),
    'w2': (300, 900, 'downstream'),
    'w3': (2000, 6000, 'w3'),
    'w7': (300, 900, 'w7'),
    # A W6 request runs ~6.3 million instructions (httpx, anyio, grpcio), 20 times W2's: fewer
    # requests, so that a run stays within a few minutes under callgrind.
    'w6': (50, 150, 'w6'),
    # The web framework workloads, each app called as its server calls it (WSGI or ASGI).
    'flask-wsgi': (300, 900, 'flask-wsgi'),
    'django-wsgi': (300, 900, 'django-wsgi'),
    'django-asgi': (300, 900, 'django-asgi'),
    'fastapi': (300, 900, 'fastapi'),
}
KINDS = ('none', 'upstream', 'rs')


#: valgrind's cache simulation with its last level as a 512 KB, 8-way cache: the L2 of one
#: core of the AMD EPYC hosts these runs meet, where a miss goes to the shared L3 (40-50
#: cycles, more on a busy host). valgrind's own default models the L3 as the last level,
#: which the W6 request's working set fits and which therefore reads no misses at all.
CACHE_SIM = ['--cache-sim=yes', '--LL=524288,8,64']
#: (label, events summed) of the cache figures `--cache` prints.
MISSES = (('L1 misses', ('I1mr', 'D1mr', 'D1mw')), ('L2 misses', ('ILmr', 'DLmr', 'DLmw')))


def callgrind(argv: list[str], cwd: Path, keep: Path | None = None) -> tuple[int, int]:
    """(application thread, all other threads) instructions of `argv` run under callgrind;
    with `keep`, its per-thread profiles are copied there (for callgrind_annotate)."""
    events, rest = callgrind_events(argv, cwd, keep)
    return events['Ir'], rest


def callgrind_events(argv: list[str], cwd: Path, keep: Path | None = None, cache: bool = False) -> tuple[dict, int]:
    """`callgrind` with the application thread's events: ``Ir`` (instructions) and, with
    `cache`, the simulated cache's misses."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                'valgrind',
                '--tool=callgrind',
                '--separate-threads=yes',
                *(CACHE_SIM if cache else []),
                f'--callgrind-out-file={tmp}/cg.out',
                *argv,
            ],
            # String hashes (and so dict probes) must not differ between the N1 and N2 runs.
            env={**os.environ, 'PYTHONHASHSEED': '0'},
            capture_output=True,
            text=True,
            cwd=cwd,
        )
        if done.returncode != 0:
            raise RuntimeError(f'{argv[1:]} failed:\n{done.stderr[-3000:]}')
        # One file per thread: cg.out-01 is the main (application) thread.
        events = {path.name: _events(path.read_text()) for path in Path(tmp).glob('cg.out-*')}
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for path in Path(tmp).glob('cg.out-*'):
                shutil.copy(path, keep / path.name)
    main = events.pop('cg.out-01')
    return main, sum(other['Ir'] for other in events.values())


def _events(profile: str) -> dict[str, int]:
    names = re.search(r'^events: (.*)$', profile, re.MULTILINE).group(1).split()
    totals = re.search(r'^totals: (.*)$', profile, re.MULTILINE).group(1).split()
    events = dict(zip(names, map(int, totals), strict=True))
    events.update({f'{NATIVE}{name}': value for name, value in object_events(profile, names, NATIVE_OBJECT).items()})
    return events


#: (label, events summed) of the rows `--native` prints.
NATIVE_ROWS = (('native module, instructions', ('Ir',)), ('native module, L2 misses', ('ILmr', 'DLmr', 'DLmw')))
#: The shared object whose own code `--native` counts (skywalking-rs's native module), and
#: the prefix of its events' names.
NATIVE_OBJECT = '/skywalking/_core.'
NATIVE = 'native '


def object_events(profile: str, names: list[str], needle: str) -> dict[str, int]:
    """The self cost of the code of the shared objects whose path contains `needle`, by event,
    read from a callgrind profile: its code inlined from elsewhere (pyo3, the standard
    library) included, what it calls in other objects (CPython's C API, libc) not. Callgrind
    charges a function's cost lines to the object of the last ``ob=`` line, and each
    ``calls=`` line is followed by the inclusive cost of that call, which is not self cost."""
    objects: dict[str, str] = {}
    current = ''
    skip_next = False
    totals = [0] * len(names)
    for line in profile.splitlines():
        if skip_next:
            skip_next = False
            continue
        if not line:
            continue
        first = line[0]
        if first.isdigit() or first in '+-*':
            if needle in current:
                for index, value in enumerate(line.split()[1:]):
                    totals[index] += int(value)
        elif line.startswith(('ob=', 'cob=')):
            # `(id) name` the first time an object is named (as a caller or a callee), `(id)` after.
            key, _, name = line.partition('=')[2].partition(' ')
            if name:
                objects[key] = name
            if first == 'o':
                current = objects.get(key, key)
        elif line.startswith('calls='):
            skip_next = True
    return dict(zip(names, totals, strict=False))


def instructions(
    kind: str, n: int, backend: str, target: str, venv: str = '', keep: Path | None = None, cache: bool = False
) -> tuple[dict, int]:
    """(application thread's events, all other threads' instructions) of one run, in the
    contender's venv or in `venv` (a directory of bench/.venvs)."""
    python = str(run.venv_python(venv or run.VENV_OF[kind]))
    return callgrind_events([python, str(DRIVER), backend, str(n), kind, target], DRIVER.parent, keep, cache)


@contextlib.contextmanager
def servers(grpc: bool):
    """The collector, W2's downstream HTTP server and (with `grpc`) W6's gRPC downstream, none
    of them traced, for the drivers; yields (collector's gRPC address, downstream URL, gRPC
    downstream address)."""
    grpc_port, http_port, down_port, grpc_down_port = (run.free_port() for _ in range(4))
    quiet = {'stdout': subprocess.DEVNULL, 'stderr': subprocess.DEVNULL}
    collector = subprocess.Popen(
        [str(run.COLLECTOR), '--grpc', f'127.0.0.1:{grpc_port}', '--http', f'127.0.0.1:{http_port}'], **quiet
    )
    downstream = subprocess.Popen(
        [sys.executable, str(run.BENCH / 'servers' / 'downstream.py'), str(down_port)], **quiet
    )
    # W6's gRPC downstream (a plain grpc.server; the baseline venv has grpcio, no agent).
    grpc_downstream = subprocess.Popen(
        [str(run.venv_python('baseline')), str(run.BENCH / 'servers' / 'grpc_downstream.py'), str(grpc_down_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        time.sleep(1)
        if grpc and grpc_downstream.stdout.readline().strip() != 'ready':
            raise SystemExit("W6's gRPC downstream did not start")
        yield f'127.0.0.1:{grpc_port}', f'http://127.0.0.1:{down_port}/', f'127.0.0.1:{grpc_down_port}'
    finally:
        collector.terminate()
        downstream.terminate()
        grpc_downstream.terminate()


def driver_target(target: str, down_url: str, grpc_down: str) -> str:
    """A case's target as the driver takes it: W2 and W6 with their downstream addresses."""
    return {'downstream': down_url, 'w6': f'w6={down_url}downstream,{grpc_down}'}.get(target, target)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--workloads', default=','.join(CASES), help='comma-separated, e.g. w2,w3')
    parser.add_argument('--kinds', default=','.join(KINDS), help='contenders, e.g. none,rs (ratios need all three)')
    parser.add_argument(
        '--venv',
        action='append',
        default=[],
        metavar='KIND=NAME',
        help='run a contender in another venv of bench/.venvs, e.g. rs=rs-pre (a copy holding another wheel)',
    )
    parser.add_argument(
        '--no-gc',
        action='store_true',
        help="the cyclic garbage collector off after the warm-up: whether one of W6's full collections "
        '(one per ~300 requests, with or without an agent) falls between the N1 and N2 runs moves its '
        'per-request figure by up to 170,000, more than the changes compared',
    )
    parser.add_argument('--keep', type=Path, help='keep the callgrind profiles in DIR/<workload>-<kind>-<n>/')
    parser.add_argument(
        '--native',
        action='store_true',
        help="also the application thread's instructions (and with --cache its L2 misses) in skywalking-rs's "
        'native module itself, per request: steps too small for the totals, which move by thousands of '
        'instructions between builds and runs (memory layout, network timing)',
    )
    parser.add_argument(
        '--cache',
        action='store_true',
        help="also the application thread's cache misses per request, simulated (L1 and a 512 KB L2: see "
        'CACHE_SIM); about twice as slow',
    )
    args = parser.parse_args()
    venvs = dict(item.split('=', 1) for item in args.venv)
    if args.no_gc:
        os.environ['SW_BENCH_NO_GC'] = '1'
    cases = {name: CASES[name] for name in args.workloads.split(',')}
    kinds = tuple(args.kinds.split(','))
    with servers('w6' in cases) as (backend, down_url, grpc_down):
        print(
            '| workload | threads | no agent | apache-skywalking | skywalking-rs | overhead apache-skywalking | '
            'overhead skywalking-rs | ratio |'
        )
        print('|---|---|---:|---:|---:|---:|---:|---:|')
        for name, (n1, n2, target) in cases.items():
            url = driver_target(target, down_url, grpc_down)
            app, rest, misses = {}, {}, {}
            for kind in kinds:
                venv = venvs.get(kind, '')
                keep = {n: args.keep / f'{name}-{kind}-{n}' if args.keep else None for n in (n1, n2)}
                a_app, a_rest = instructions(kind, n1, backend, url, venv, keep[n1], args.cache)
                b_app, b_rest = instructions(kind, n2, backend, url, venv, keep[n2], args.cache)
                app[kind] = (b_app['Ir'] - a_app['Ir']) // (n2 - n1)
                rest[kind] = (b_rest - a_rest) // (n2 - n1)
                for label, names in MISSES if args.cache else ():
                    misses.setdefault(label, {})[kind] = sum(b_app[e] - a_app[e] for e in names) // (n2 - n1)
                for label, names in NATIVE_ROWS[: 2 if args.cache else 1] if args.native else ():
                    per_request = sum(b_app[f'{NATIVE}{e}'] - a_app[f'{NATIVE}{e}'] for e in names) // (n2 - n1)
                    misses.setdefault(label, {})[kind] = per_request
            total = {kind: app[kind] + rest[kind] for kind in kinds}
            rows = (('application', app), ('other threads', rest), ('all', total))
            rows += tuple((f'application, {label}', per) for label, per in misses.items())
            for label, per in rows:
                per = {kind: per.get(kind, 0) for kind in KINDS}  # a contender left out counts as 0
                up, rs = per['upstream'] - per['none'], per['rs'] - per['none']
                ratio = f'{rs / up:.3f}x' if up > 0 else '-'
                print(
                    f'| {name} | {label} | {per["none"]:,} | {per["upstream"]:,} | {per["rs"]:,} | {up:+,} | {rs:+,} | '
                    f'{ratio} |',
                    flush=True,
                )


if __name__ == '__main__':
    main()
