"""W6 taken apart per part (Flask entry, httpx async exit, gRPC unary exit), application
thread CPU per request over no agent, for each contender: runs
``workloads/w6_parts.py`` once per contender per round, the contenders one after the other
in rotating order, and prints the medians over rounds with their spread.

    python3 bench/w6_parts.py --rounds 5 --n 1000 [--contenders none,rs,upstream]

Needs what bench/run.py prepared (bench/.venvs, the release collector).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time

import run

ROUTES = ('plain', 'httpx', 'grpc', 'full')


def parts(cpu: dict[str, float]) -> dict[str, float]:
    """Each part's CPU per request: the route, or the route minus the plain endpoint."""
    return {
        'flask': cpu['plain'],
        'httpx': cpu['httpx'] - cpu['plain'],
        'grpc': cpu['grpc'] - cpu['plain'],
        'full': cpu['full'],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--n', type=int, default=1000, help='requests per route and process')
    parser.add_argument('--contenders', default='none,rs,upstream')
    parser.add_argument('--collector', help='collector command instead of target/release/sw-collector')
    args = parser.parse_args()
    if args.collector:
        run.COLLECTOR = args.collector
    contenders = args.contenders.split(',')
    run.LOGS.mkdir(parents=True, exist_ok=True)
    sinks = run.Sinks()
    sinks.start()
    results: dict[str, list[dict[str, float]]] = {c: [] for c in contenders}
    try:
        for round_ in range(args.rounds):
            order = contenders[round_ % len(contenders) :] + contenders[: round_ % len(contenders)]
            for contender in order:
                out = subprocess.run(
                    [
                        str(run.venv_python(run.VENV_OF[contender])),
                        str(run.BENCH / 'workloads' / 'w6_parts.py'),
                        *('--contender', contender, '--service', f'parts-{contender}-{round_}'),
                        *('--backend', sinks.grpc, '--n', str(args.n), '--warmup', '200'),
                        *('--downstream', sinks.downstream, '--grpc-downstream', sinks.grpc_downstream),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=run.BENCH / 'workloads',
                ).stdout
                line = [x for x in out.splitlines() if x.startswith('{')][-1]
                results[contender].append(parts(json.loads(line)))
                print(time.strftime('%H:%M:%S'), round_, contender, results[contender][-1], flush=True)
    finally:
        sinks.stop()
    base = results.get('none')
    print('\nµs per request, application thread, median over rounds (min-max); overhead = contender - no agent')
    print('| contender | part | CPU | overhead (min-max over rounds) |')
    print('|---|---|---:|---:|')
    for contender in contenders:
        for part in ('flask', 'httpx', 'grpc', 'full'):
            values = [r[part] for r in results[contender]]
            line = f'| {contender} | {part} | {statistics.median(values):.1f} |'
            if base is not None and contender != 'none':
                over = [r[part] - b[part] for r, b in zip(results[contender], base, strict=True)]
                line += f' {statistics.median(over):+.1f} ({min(over):+.1f} to {max(over):+.1f}) |'
            else:
                line += ' - |'
            print(line)


if __name__ == '__main__':
    main()
