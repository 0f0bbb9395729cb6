"""The public tracing API, checked against what reaches the collector."""

from __future__ import annotations

import asyncio
import threading

import pytest

from skywalking import Component, Kind, Layer
from skywalking.decorators import runnable, trace
from skywalking.trace.carrier import Carrier
from skywalking.trace.context import IllegalStateError, NoopContext, get_context
from skywalking.trace.span import EntrySpan, ExitSpan, NoopSpan
from skywalking.trace.tags import Tag, TagDbSqlParameters, TagHttpMethod


def by_op(segment: dict) -> dict[str, dict]:
    return {span['operationName']: span for span in segment['spans']}


def test_nested_spans_form_one_segment_with_parent_links(reported):
    with get_context().new_entry_span('/orders') as entry:
        entry.layer = Layer.Http
        entry.component = Component.Flask
        entry.tag(TagHttpMethod('POST'))
        with get_context().new_local_span('validate') as local:
            assert local.pid == entry.sid
            with get_context().new_exit_span('/stock', 'stock:8080', Component.Requests) as exit_span:
                exit_span.layer = Layer.Http
    assert isinstance(entry, EntrySpan)
    assert isinstance(exit_span, ExitSpan)

    [segment] = reported()
    spans = by_op(segment)
    # Finish order, as upstream: children first.
    assert [s['operationName'] for s in segment['spans']] == ['/stock', 'validate', '/orders']
    assert spans['/orders']['parentSpanId'] == -1 and spans['/orders']['spanType'] == 'Entry'
    assert spans['/orders']['componentId'] == 7001 and spans['/orders']['spanLayer'] == 'Http'
    assert spans['/orders']['tags'] == [{'key': 'http.method', 'value': 'POST'}]
    assert spans['validate']['parentSpanId'] == spans['/orders']['spanId']
    assert spans['/stock']['parentSpanId'] == spans['validate']['spanId']
    assert spans['/stock']['peer'] == 'stock:8080' and spans['/stock']['spanType'] == 'Exit'


def test_exception_marks_error_with_traceback_and_propagates(reported):
    with pytest.raises(KeyError):
        with get_context().new_local_span('fails'):
            {}['missing']
    [segment] = reported()
    [span] = segment['spans']
    assert span['isError'] is True
    [log] = span['logs']
    [event] = log['logEvent']
    assert event['key'] == 'Traceback'
    assert "KeyError: 'missing'" in event['value']


def test_tags_override_except_sql_parameters(reported):
    class Custom(Tag):
        key = 'custom'

    with get_context().new_local_span('tags') as span:
        span.tag(Custom('a'))
        span.tag(Custom('b'))
        span.tag(TagDbSqlParameters('[1]'))
        span.tag(TagDbSqlParameters('[2]'))
    [segment] = reported()
    assert segment['spans'][0]['tags'] == [
        {'key': 'custom', 'value': 'b'},
        {'key': 'db.sql.parameters', 'value': '[1]'},
        {'key': 'db.sql.parameters', 'value': '[2]'},
    ]


def test_custom_tags_of_every_shape_record_their_values(reported):
    """Tag subclasses as users write them: key only, their own __init__ calling
    super().__init__, an __init__ that sets val itself, and values of several types."""

    class Plain(Tag):
        key = 'plain'

    class Joined(Tag):
        key = 'joined'

        def __init__(self, first: str, second: str) -> None:
            super().__init__(f'{first}-{second}')

    class Inherits(Joined):
        key = 'inherits'

    class SetsItself(Tag):
        key = 'sets.itself'

        def __init__(self, value: int) -> None:
            self.val = value * 2  # stored as text, as upstream's str(val)

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError('no text')

    big = 10**30
    with get_context().new_local_span('tags') as span:
        span.tag(Plain(404))
        span.tag(Joined('a', 'b'))
        span.tag(Inherits('c', 'd'))
        span.tag(SetsItself(21))
        span.tag(TagDbSqlParameters(big))
        span.tag(TagDbSqlParameters(True))
        span.tag(TagDbSqlParameters(None))
        span.tag(TagDbSqlParameters(-7))
        span.tag(TagDbSqlParameters(Unprintable()))
        tag = Plain('x')
        tag.val = 1.5
        span.tag(tag)
    [segment] = reported()
    assert segment['spans'][0]['tags'] == [
        {'key': 'plain', 'value': '1.5'},
        {'key': 'joined', 'value': 'a-b'},
        {'key': 'inherits', 'value': 'c-d'},
        {'key': 'sets.itself', 'value': '42'},
        {'key': 'db.sql.parameters', 'value': str(big)},
        {'key': 'db.sql.parameters', 'value': 'True'},
        {'key': 'db.sql.parameters', 'value': 'None'},
        {'key': 'db.sql.parameters', 'value': '-7'},
        {'key': 'db.sql.parameters', 'value': '<unprintable Unprintable>'},
    ]
    assert Plain(3).val == '3' and isinstance(Plain(3), Tag)
    assert repr(Joined('e', 'f')) == "Joined('joined'='e-f')"


def test_inject_and_extract_continue_the_trace(reported):
    with get_context().new_entry_span('/caller'):
        with get_context().new_exit_span('/callee', 'callee:80') as exit_span:
            carrier = exit_span.inject()
            headers = {item.key: item.val for item in carrier}
            caller_trace = get_context().segment.related_traces[0]
    assert set(headers) == {'sw8', 'sw8-correlation'}
    assert carrier.is_valid and carrier.trace_id == caller_trace

    incoming = Carrier()
    for item in incoming:
        item.val = headers[item.key]
    with get_context().new_entry_span('/callee', carrier=incoming) as entry:
        assert str(get_context().segment.related_traces[0]) == caller_trace
    assert entry.kind == Kind.Entry

    segments = reported()
    callee = next(s for s in segments if s['spans'][-1]['operationName'] == '/callee')
    [ref] = callee['spans'][0]['refs']
    assert ref['refType'] == 'CrossProcess'
    assert ref['traceId'] == caller_trace
    assert ref['parentEndpoint'] == '/caller'
    assert ref['networkAddress'] == 'callee:80'
    assert ref['parentSpanId'] == 1


@pytest.mark.parametrize('header', ['garbage', '1-a-b-c', '1-' + '-'.join(['!!!'] * 7), 'x' * 10000, '\x00\xff'])
def test_malformed_sw8_starts_a_new_trace(reported, header):
    with get_context().new_entry_span('/hostile', sw8=header) as span:
        assert not isinstance(span, NoopSpan)
    [segment] = reported()
    assert 'refs' not in segment['spans'][0] or not segment['spans'][0]['refs']


def test_not_traced_marker_propagates_as_noop(reported):
    with get_context().new_entry_span('/downstream', sw8='1-------') as span:
        assert isinstance(span, NoopSpan)
        with get_context().new_exit_span('/further', 'x:1') as inner:
            assert isinstance(inner, NoopSpan)
            assert dict(inner.inject_headers())['sw8'] == '1-------'
    assert reported() == []


def test_correlation_travels_and_is_limited(reported):
    with get_context().new_entry_span('/c'):
        context = get_context()
        for key in ('a', 'b', 'c', 'd', 'e'):
            context.put_correlation(key, key.upper())
        context.put_correlation('long', 'x' * 500)
        with context.new_exit_span('/next', 'n:1') as exit_span:
            carrier = exit_span.inject()
    # Upstream's off-by-one is kept for compatibility: max + 1 entries are accepted.
    assert carrier.correlation == {'a': 'A', 'b': 'B', 'c': 'C', 'd': 'D'}


def test_plugins_headers_carry_a_correlation_only_when_there_is_one(reported):
    with get_context().new_entry_span('/c'):
        context = get_context()
        with context.new_exit_span('/next', 'n:1') as exit_span:
            assert [name for name, _ in exit_span.inject_headers()] == ['sw8']
        context.put_correlation('k', 'v')
        with context.new_exit_span('/next', 'n:1') as exit_span:
            headers = dict(exit_span.inject_headers())
    assert set(headers) == {'sw8', 'sw8-correlation'} and headers['sw8-correlation']


def test_ignored_suffix_and_noop_context(reported):
    with get_context().new_entry_span('/static/app.js') as span:
        assert isinstance(span, NoopSpan)
    with NoopContext().new_local_span('x') as noop:
        assert isinstance(noop, NoopSpan)
    assert reported() == []


def test_peek_raises_when_no_span_is_active():
    assert get_context().peek() is None
    with pytest.raises(IllegalStateError):
        get_context().peek(raise_if_none=True)


def test_concurrent_asyncio_tasks_have_their_own_contexts(reported):
    async def request(name: str, delay: float):
        with get_context().new_entry_span(f'/{name}'):
            await asyncio.sleep(delay)
            with get_context().new_local_span(f'{name}-work'):
                await asyncio.sleep(delay)
            return get_context().segment.segment_id

    async def main():
        return await asyncio.gather(request('a', 0.02), request('b', 0.01), request('c', 0.03))

    ids = asyncio.run(main())
    assert len(set(ids)) == 3
    segments = reported()
    assert len(segments) == 3
    for segment in segments:
        names = [s['operationName'] for s in segment['spans']]
        entry = names[-1][1:]
        assert names == [f'{entry}-work', f'/{entry}']


def test_threads_start_without_a_context_and_runnable_continues(reported):
    seen = {}

    def plain():
        seen['plain'] = get_context().active_span

    with get_context().new_entry_span('/parent') as parent:

        @runnable(op='worker')
        def worker():
            seen['worker_trace'] = get_context().segment.related_traces[0]

        threads = [threading.Thread(target=plain), threading.Thread(target=worker)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        parent_trace = get_context().segment.related_traces[0]
        parent_segment = get_context().segment.segment_id

    assert seen['plain'] is None
    assert seen['worker_trace'] == parent_trace
    segments = reported()
    worker_segment = next(s for s in segments if s['spans'][0]['operationName'] == 'worker')
    [ref] = worker_segment['spans'][0]['refs']
    assert ref['refType'] == 'CrossThread'
    assert ref['parentTraceSegmentId'] == parent_segment
    assert ref['parentSpanId'] == parent.sid
    assert ref['parentEndpoint'] == '/parent'


def test_continue_tracing_binds_to_the_calling_trace(reported):
    @runnable()
    def job():
        return get_context().segment.related_traces[0]

    result = {}
    with get_context().new_entry_span('/later'):
        trace_id = get_context().segment.related_traces[0]
        bound = job.continue_tracing()  # captured here, on the calling thread
        thread = threading.Thread(target=lambda: result.setdefault('t', bound()))
        thread.start()
        thread.join()
    assert result['t'] == trace_id
    assert job.__name__ == 'job'


def test_trace_decorator_sync_and_async(reported):
    @trace(op='sync-op', layer=Layer.Database, component=Component.PyMysql)
    def sync_function(x):
        return x * 2

    @trace()
    async def async_function(x):
        await asyncio.sleep(0)
        return x + 1

    assert sync_function(2) == 4
    assert asyncio.run(async_function(1)) == 2
    spans = [s['spans'][0] for s in reported()]
    ops = {s['operationName']: s for s in spans}
    assert ops['sync-op']['spanLayer'] == 'Database' and ops['sync-op']['componentId'] == 7003
    assert 'async_function' in ops


def test_span_limit_marks_the_segment(reported):
    with get_context().new_entry_span('/many'):
        for i in range(400):
            with get_context().new_local_span(f'child-{i}'):
                pass
    [segment] = reported()
    assert len(segment['spans']) == 300


def test_a_parent_stopped_before_its_child_leaves_the_child_active(reported):
    parent = get_context().new_local_span('parent').start()
    child = get_context().new_local_span('child').start()
    parent.stop()  # out of order: the child still runs
    assert get_context().active_span is child
    with get_context().new_local_span('grandchild') as grandchild:
        assert grandchild.pid == child.sid
    child.stop()
    assert get_context().active_span is None
    with get_context().new_local_span('next-trace'):
        pass
    segments = reported()
    assert len(segments) == 2
    first = next(s for s in segments if len(s['spans']) == 3)
    assert [s['operationName'] for s in first['spans']] == ['parent', 'grandchild', 'child']
    [after] = [s for s in segments if s is not first]
    assert after['spans'][0]['parentSpanId'] == -1 and not after['spans'][0].get('refs')


def test_a_span_stopped_in_another_context_does_not_disturb_either(reported):
    import contextvars

    outer = get_context().new_local_span('outer').start()
    started = {}

    def start_inner():
        started['span'] = get_context().new_local_span('inner').start()

    other = contextvars.copy_context()
    other.run(start_inner)
    inner = started['span']
    assert get_context().active_span is outer, 'starting in a copied context leaves this one alone'
    inner.stop()  # here, not in the context that started it
    assert get_context().active_span is outer
    assert other.run(lambda: get_context().active_span) is outer, 'the copy falls back to its parent span'
    outer.stop()
    assert get_context().active_span is None
    [segment] = reported()
    assert [s['operationName'] for s in segment['spans']] == ['inner', 'outer']


def test_an_asyncio_task_that_outlives_its_parent_span_refers_to_it(reported):
    async def late_child():
        await asyncio.sleep(0.02)
        with get_context().new_local_span('late'):
            pass

    async def main():
        with get_context().new_entry_span('/parent') as parent:
            task = asyncio.ensure_future(late_child())
            segment_id = get_context().segment.segment_id
        assert get_context().active_span is None
        await task
        return parent, segment_id

    parent, parent_segment = asyncio.run(main())
    segments = reported()
    late = next(s for s in segments if s['spans'][0]['operationName'] == 'late')
    [ref] = late['spans'][0]['refs']
    assert ref['refType'] == 'CrossThread'
    assert (ref['parentTraceSegmentId'], ref['parentSpanId']) == (parent_segment, parent.sid)
