"""Context follows work into other threads (sw_threading, on by default): `Thread.start` (and a `Timer`),
`ThreadPoolExecutor.submit`, `loop.run_in_executor`, `asyncio.to_thread` and a submitted
``copy_context().run``, each started inside a request's entry span, give the worker a segment
that refs the request's span once; asgiref's `sync_to_async`, which enters the caller's
copied context itself, keeps the work in the request's own segment (no second segment); a
library's own background thread started inside a request is left alone. Switched off, no
worker continues the trace."""

from pathlib import Path

import pytest

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
WAYS = ['/thread', '/timer', '/submit', '/run_in_executor', '/to_thread', '/copy_context']


def expected(way: str, port: int, name: str = 'expected.yml') -> str:
    return (HERE / name).read_text().replace('PORT_WAY', f'{port}{way}').replace('WAY', way)


@pytest.mark.parametrize('way', WAYS)
def test_the_workers_segment_refs_the_starting_span(services, collector, plugin_python, way):
    port = free_port()
    services.start('threads', HERE / 'services' / 'app.py', port, python=plugin_python)

    assert http_get(f'http://127.0.0.1:{port}{way}')[0] == 200

    ok, reason = collector.validate(expected(way, port))
    assert ok, f'{reason}\n{services.logs()}'


def test_sync_to_async_work_stays_in_the_callers_segment(services, collector, plugin_python):
    """asgiref hands the pool ``partial(thread_handler, ..., context.run, child)``: linking it
    as well gave a second segment holding only ``Thread/thread_handler``, while ``work`` went
    into the caller's segment through the copied context."""
    port = free_port()
    services.start('threads', HERE / 'services' / 'app.py', port, python=plugin_python)

    assert http_get(f'http://127.0.0.1:{port}/sync_to_async')[0] == 200

    ok, reason = collector.validate(expected('/sync_to_async', port, 'expected_same_segment.yml'))
    assert ok, f'{reason}\n{services.logs()}'
    assert 'CrossThread' not in collector.receive_data()


def test_a_library_background_thread_is_not_part_of_the_trace(services, collector, plugin_python):
    """A thread a library starts for itself (here logging's QueueListener) inside a request
    outlives it in real code: wrapped, it would hold a segment open until the process ends."""
    port = free_port()
    services.start('threads', HERE / 'services' / 'app.py', port, python=plugin_python)

    assert http_get(f'http://127.0.0.1:{port}/library_thread')[0] == 200

    ok, reason = collector.validate(expected('/library_thread', port, 'expected_alone.yml'))
    assert ok, f'{reason}\n{services.logs()}'
    assert 'CrossThread' not in collector.receive_data()


def test_switched_off_the_worker_is_not_part_of_the_trace(services, collector, plugin_python):
    port = free_port()
    services.start(
        'threads',
        HERE / 'services' / 'app.py',
        port,
        python=plugin_python,
        SW_PLUGIN_THREADING_PROPAGATE_CONTEXT='False',
    )

    assert http_get(f'http://127.0.0.1:{port}/submit')[0] == 200

    ok, _ = collector.validate(expected('/submit', port), timeout=3)
    assert not ok, 'the worker continued the trace although propagation is off'
    assert 'CrossThread' not in collector.receive_data()
