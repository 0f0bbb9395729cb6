"""Context follows work into other threads (sw_threading): `Thread.start`,
`ThreadPoolExecutor.submit` and `loop.run_in_executor`, each started inside a request's
entry span, give the worker a segment that refs the request's span; `asyncio.to_thread`
copies the caller's context into the worker, whose spans are children in the request's own
segment."""

from pathlib import Path

import pytest

from tests.conftest import free_port, http_get

HERE = Path(__file__).parent
WAYS = ['/thread', '/submit', '/run_in_executor']


def expected(way: str, port: int) -> str:
    return (HERE / 'expected.yml').read_text().replace('PORT_WAY', f'{port}{way}').replace('WAY', way)


@pytest.mark.parametrize('way', WAYS)
def test_the_workers_segment_refs_the_starting_span(services, collector, plugin_python, way):
    port = free_port()
    on = {'SW_PLUGIN_THREADING_PROPAGATE_CONTEXT': 'True'}
    services.start('threads', HERE / 'services' / 'app.py', port, python=plugin_python, **on)

    assert http_get(f'http://127.0.0.1:{port}{way}')[0] == 200

    ok, reason = collector.validate(expected(way, port))
    assert ok, f'{reason}\n{services.logs()}'


def test_to_thread_spans_join_the_callers_segment(services, collector, plugin_python):
    port = free_port()
    on = {'SW_PLUGIN_THREADING_PROPAGATE_CONTEXT': 'True'}
    services.start('threads', HERE / 'services' / 'app.py', port, python=plugin_python, **on)

    assert http_get(f'http://127.0.0.1:{port}/to_thread')[0] == 200

    text = (HERE / 'expected_same_segment.yml').read_text().replace('PORT_WAY', f'{port}/to_thread')
    ok, reason = collector.validate(text.replace('WAY', '/to_thread'))
    assert ok, f'{reason}\n{services.logs()}'


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
