"""W4: a Django view called in-process through Django's WSGI handler (the Django plugin, or
OpenTelemetry's Django instrumentation, makes the entry span).

One segment (SkyWalking) or one span (OpenTelemetry) per request.
"""

import django_app
from harness import Contender, measure, parse_args


def main() -> None:
    args = parse_args()
    django_app.configure()
    contender = Contender(args.contender, args.service, args.backend)
    contender.start()
    if contender.kind == 'otel':
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()
    app = django_app.make_app()
    measure(contender, django_app.iteration_for(app), args.n, args.warmup, per_iteration=1, chunk=args.chunk)


if __name__ == '__main__':
    main()
