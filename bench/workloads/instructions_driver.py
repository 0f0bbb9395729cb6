"""One process of bench/instructions.py: N requests of W1 (or W2 with a downstream URL), or W7
with target `w7`, or W6 with target `w6=HTTP_URL,GRPC_HOST:PORT`, or N W3 spans (target
`w3`), or N requests of the web framework targets (`flask-wsgi`: W1's app called through
WSGI with W4's environ; `django-wsgi`: W4; `django-asgi`: W4's Django through its ASGI
handler, an async view; `fastapi`: W5), with an agent started as in the benchmark, then a
pause so the reporter's sending is counted too."""

from __future__ import annotations

import gc
import os
import sys
import time

from flask_app import iteration_for, make_app
from harness import Contender
from w3_spans import iteration_for as w3_iteration_for


def web_iteration(target: str):
    if target == 'flask-wsgi':
        from flask_app import wsgi_iteration_for

        return wsgi_iteration_for(make_app())
    if target in ('django-wsgi', 'django-asgi'):
        import django_app

        django_app.configure()
        if target == 'django-wsgi':
            return django_app.iteration_for(django_app.make_app())
        return django_app.asgi_iteration_for(django_app.make_asgi_app())
    if target == 'fastapi':
        import fastapi_app

        return fastapi_app.iteration_for(fastapi_app.make_app())
    return None


def main() -> None:
    backend, n, kind, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    contender = Contender(kind, f'instructions-{kind}', backend)
    contender.start()  # as in the benchmark; nothing for `none`
    iteration = web_iteration(target)
    warmup = 200
    if iteration is None and target == 'w3':
        iteration = w3_iteration_for(contender)
    elif iteration is None and target == 'w7':
        from w7_db_cache import iteration_for as w7_iteration_for
        from w7_db_cache import make_app as w7_make_app

        iteration = w7_iteration_for(w7_make_app(f'instructions-{kind}'))
    elif iteration is None and target.startswith('w6='):
        from w6_async_grpc import iteration_for as w6_iteration_for
        from w6_async_grpc import make_app as w6_make_app

        downstream, grpc_target = target.removeprefix('w6=').split(',')
        # Under valgrind a call takes 50 times as long and the process's threads take turns.
        iteration = w6_iteration_for(w6_make_app(downstream, grpc_target, timeout=120))
        warmup = 30  # a W6 request is 20 times W2's: fewer untimed ones
    elif iteration is None:
        iteration = iteration_for(make_app(target))
    for i in range(warmup):
        iteration(i)
    if os.environ.get('SW_BENCH_NO_GC'):
        # bench/instructions.py --no-gc: see there.
        gc.collect()
        gc.disable()
    for i in range(n):
        iteration(i)
    time.sleep(3)  # the reporter delivers meanwhile; its instructions count
    contender.stop()


if __name__ == '__main__':
    main()
