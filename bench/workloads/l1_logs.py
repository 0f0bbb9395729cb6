"""W4: one `logging` call per iteration with the log reporter on (SkyWalking agents).

The logger has a `NullHandler` and does not propagate, so the application's own cost of a
line is the `logging` machinery without any output; what an agent adds is its
interception: the record captured, formatted with `agent_log_reporter_layout`, encoded and
sent, on the application thread or the reporter's (the process's CPU counts both).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from harness import Contender, measure, parse_args


def iteration_for(contender: Contender) -> Callable[[int], object]:
    logger = logging.getLogger('bench.w4')
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    logger.setLevel(logging.INFO)

    def iteration(i: int) -> None:
        logger.warning('order %d shipped to %s', i, 'warehouse-7')

    return iteration


def main() -> None:
    args = parse_args()
    contender = Contender(args.contender, args.service, args.backend, logs=True)
    contender.start()
    measure(contender, iteration_for(contender), args.n, args.warmup, per_iteration=1, chunk=args.chunk)


if __name__ == '__main__':
    main()
