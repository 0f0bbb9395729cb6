"""W5: a FastAPI endpoint called in-process as an ASGI server calls it (the FastAPI plugin,
or OpenTelemetry's FastAPI instrumentation, makes the entry span).

One segment (SkyWalking) or one span (OpenTelemetry) per request.
"""

import fastapi_app
from harness import Contender, measure, parse_args


def main() -> None:
    args = parse_args()
    contender = Contender(args.contender, args.service, args.backend)
    contender.start()
    app = fastapi_app.make_app()
    if contender.kind == 'otel':
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # One span per request, as the agents make one segment (not the internal send/receive spans).
        FastAPIInstrumentor.instrument_app(app, exclude_spans=['receive', 'send'])
    measure(contender, fastapi_app.iteration_for(app), args.n, args.warmup, per_iteration=1, chunk=args.chunk)


if __name__ == '__main__':
    main()
