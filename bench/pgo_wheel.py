"""A profile-guided (PGO) release wheel of skywalking-rs: built once instrumented, run on the
benchmark's request paths, and built again with what LLVM learned there.

    python3 bench/pgo_wheel.py --out dist && pip install dist/skywalking_rs-*.whl
    python3 bench/run.py --pgo                  # the benchmark of such a build

Why: a request runs the native module's code once, after the rest of the request (millions of
instructions of CPython, httpx, grpcio) has pushed it out of the caches, so what it costs is
mostly fetching its code. With the profile, LLVM lays the taken paths out together and moves
the untaken ones aside: on W6 the module's own instructions per request fell by a quarter and
its L2 misses by a fifth (callgrind); two timed runs read 44 µs less and 14 µs more per
request, within their noise (docs/Benchmarks.md). Code the training does not run (other
plugins' helpers) is laid out as cold, which costs it nothing measurable: W7 left out of the
training ran 18,885 of the module's instructions per request, the plain build 18,917 (and
12,167 with W7 trained).

The training is `bench/instructions.py`'s cases (Flask, Django and FastAPI entries, requests,
httpx and gRPC exits, psycopg2 and Redis, manual spans), each run as many times as there. It
needs `llvm-profdata` of rustc's LLVM (Debian: `apt-get install llvm-<major>`), and W7's
PostgreSQL and Redis (`scripts/services.sh`; without them W7 is left out, and said so).
The instrumented and the final builds keep their own cargo target directories
(`<target>/pgo-generate`, `<target>/pgo-use`), so neither rebuilds the other's crates.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import instructions
import run

#: The target triple is named explicitly so that RUSTFLAGS reach only the wheel's own crates,
#: not build scripts and proc-macros (which cargo then builds for the host without them).
HOST_TRIPLE_PATTERN = re.compile(r'^host: (\S+)$', re.MULTILINE)
LLVM_PATTERN = re.compile(r'^LLVM version: (\d+)\.', re.MULTILINE)
#: Where Debian's llvm-<major> keeps its tools under their plain names.
LLVM_HOME = '/usr/lib/llvm-{major}/bin'
#: The services W7 needs (see bench/workloads/w7_db_cache.py).
W7_SERVICES = (('127.0.0.1', 5432), ('127.0.0.1', 6379))


def rustc_facts(verbose_version: str) -> tuple[str, int]:
    """(host triple, LLVM major version) from `rustc -vV`."""
    host, llvm = HOST_TRIPLE_PATTERN.search(verbose_version), LLVM_PATTERN.search(verbose_version)
    if host is None or llvm is None:
        raise SystemExit(f'cannot read the host and LLVM version from rustc -vV:\n{verbose_version}')
    return host.group(1), int(llvm.group(1))


def find_profdata(major: int) -> str:
    """An `llvm-profdata` of LLVM `major`: a profile written by another major version may not
    be readable by rustc's LLVM."""
    search = f'{os.environ.get("PATH", "")}{os.pathsep}{LLVM_HOME.format(major=major)}'
    for candidate in (f'llvm-profdata-{major}', 'llvm-profdata'):
        path = shutil.which(candidate, path=search)
        if path is None:
            continue
        shown = subprocess.run([path, '--version'], capture_output=True, text=True).stdout
        if re.search(rf'LLVM version {major}\.', shown):
            return path
    raise SystemExit(f"no llvm-profdata of LLVM {major} (rustc's): apt-get install llvm-{major}")


def reachable(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return False
    return True


def maturin_build(triple: str, rustflags: str, target_dir: Path, out: Path, log_name: str) -> Path:
    """A release wheel built with `rustflags` added to the caller's RUSTFLAGS."""
    env = {
        **os.environ,
        'RUSTFLAGS': f'{os.environ.get("RUSTFLAGS", "")} {rustflags}'.strip(),
        'CARGO_TARGET_DIR': str(target_dir),
    }
    maturin = run.ensure_maturin()
    command = [str(maturin), 'build', '--release', '--target', triple, '-i', str(run.venv_python('build'))]
    if out.exists():
        shutil.rmtree(out)
    run.log(f'building a wheel with {rustflags} (log: bench/results/logs/{log_name})')
    with open(run.LOGS / log_name, 'w') as logfile:
        subprocess.run(
            [*command, '-o', str(out)], cwd=run.ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT, check=True
        )
    wheels = sorted(out.glob('skywalking_rs-*.whl'))
    if len(wheels) != 1:
        raise SystemExit(f'expected one skywalking-rs wheel in {out}, found {wheels}')
    return wheels[0]


def train(wheel: Path, raw: Path) -> None:
    """Runs the training cases with the instrumented `wheel`, writing profiles into `raw`."""
    run.ensure_venv('pgo-train', run.APP_PINS, lambda: run.pip('pgo-train', *run.APP_PINS))
    run.pip('pgo-train', '--force-reinstall', '--no-deps', str(wheel))
    run.pip('pgo-train', str(wheel))  # its own dependencies, the first time
    cases = dict(instructions.CASES)
    if not all(map(reachable, W7_SERVICES)):
        run.log('PostgreSQL or Redis is down: W7 (psycopg2, Redis) is left out of the training')
        del cases['w7']
    env = {**os.environ, 'LLVM_PROFILE_FILE': str(raw / '%m_%p.profraw')}
    with instructions.servers(grpc=True) as (backend, down_url, grpc_down):
        for name, (_, n, target) in cases.items():
            run.log(f'training on {name}: {n} iterations')
            argv = [str(run.venv_python('pgo-train')), str(instructions.DRIVER), backend, str(n), 'rs']
            argv.append(instructions.driver_target(target, down_url, grpc_down))
            done = subprocess.run(argv, cwd=instructions.DRIVER.parent, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f'training on {name} failed:\n{done.stderr[-3000:]}')


def build(out: Path) -> Path:
    """The PGO wheel, in `out`."""
    verbose = subprocess.run(['rustc', '-vV'], capture_output=True, text=True, check=True).stdout
    triple, major = rustc_facts(verbose)
    profdata = find_profdata(major)
    target = Path(os.environ.get('CARGO_TARGET_DIR') or run.ROOT / 'target')
    run.LOGS.mkdir(parents=True, exist_ok=True)
    # The same flags at every run (the profiles' place is set when training), so that cargo
    # rebuilds only what changed.
    generate = target / 'pgo-generate'
    raw = generate / 'profiles'
    with tempfile.TemporaryDirectory(prefix='sw-pgo-') as tmp:
        instrumented = maturin_build(
            triple, f'-Cprofile-generate={raw}', generate, Path(tmp) / 'wheel', 'pgo-generate.log'
        )
        if raw.exists():
            shutil.rmtree(raw)
        raw.mkdir(parents=True)
        train(instrumented, raw)
        merged = Path(tmp) / 'merged.profdata'
        subprocess.run([profdata, 'merge', '-o', str(merged), *map(str, raw.glob('*.profraw'))], check=True)
        # Named by its content: cargo rebuilds when RUSTFLAGS change, not when a file they name does.
        digest = hashlib.sha256(merged.read_bytes()).hexdigest()[:16]
        kept = target / 'pgo-use' / f'{digest}.profdata'
        kept.parent.mkdir(parents=True, exist_ok=True)
        for old in kept.parent.glob('*.profdata'):
            old.unlink()
        shutil.copy(merged, kept)
    wheel = maturin_build(triple, f'-Cprofile-use={kept}', target / 'pgo-use', out, 'pgo-use.log')
    run.log(f'PGO wheel: {wheel}')
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, default=run.VENVS / 'wheels-pgo', help='directory for the wheel')
    args = parser.parse_args()
    # What the training's servers need, as bench/run.py prepares it.
    run.ensure_venv('baseline', run.APP_PINS, lambda: run.pip('baseline', *run.APP_PINS))
    if not run.COLLECTOR.exists():
        run.build_collector()
    build(args.out.resolve())


if __name__ == '__main__':
    main()
