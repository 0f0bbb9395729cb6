"""W3: manual local spans through the public API, one tag each.

Nothing is active around a span, so every iteration starts its own trace: one segment
(SkyWalking) or one root span (OpenTelemetry) per iteration.
"""

from __future__ import annotations

from collections.abc import Callable

from harness import SKYWALKING, Contender, measure, parse_args


def iteration_for(contender: Contender) -> Callable[[int], object]:
    if contender.kind in SKYWALKING:
        from skywalking.trace.context import get_context
        from skywalking.trace.tags import Tag

        class TagBench(Tag):
            key = 'bench.i'

        def iteration(i: int) -> None:
            with get_context().new_local_span('op') as span:
                span.tag(TagBench(i))

        return iteration
    if contender.kind == 'otel':
        tracer = contender.tracer

        def iteration(i: int) -> None:
            with tracer.start_as_current_span('op') as span:
                span.set_attribute('bench.i', i)

        return iteration

    def iteration(i: int) -> None:
        pass

    return iteration


def main() -> None:
    args = parse_args()
    contender = Contender(args.contender, args.service, args.backend)
    contender.start()
    measure(contender, iteration_for(contender), args.n, args.warmup, per_iteration=1, chunk=args.chunk)


if __name__ == '__main__':
    main()
