"""No failure inside the agent reaches the application: a request-path call of `_core` that
fails (an error or a panic) logs one warning per call site and steps aside, and the
application's results and its own exceptions are what they would be without the agent."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from skywalking import _core
from skywalking.trace.context import get_context
from skywalking.trace.span import NoopSpan


class Hostile:
    """A value whose text cannot be taken, as some application objects are."""

    def __str__(self) -> str:
        raise RuntimeError('hostile __str__')


APP = textwrap.dedent(
    """
    import sys

    from skywalking import _core, agent, config
    from skywalking.trace.context import get_context

    config.init(
        agent_name='fault-isolation',
        agent_collector_backend_services=sys.argv[1],
        agent_disable_plugins=['sw_.*'],
        agent_profile_active=False,
        agent_logging_level='WARNING',
    )
    agent.start()


    class Hostile:
        def __str__(self):
            raise RuntimeError('hostile __str__')


    class AppError(Exception):
        pass


    def handler(i):
        with get_context().new_entry_span('/orders') as span:
            span.set_tag('order', Hostile())
            span.log(Hostile())
            return i * 2


    assert [handler(i) for i in range(3)] == [0, 2, 4]

    for _ in range(2):
        try:
            with get_context().new_local_span('work') as span:
                span.tag_http_status(200)
                span.set_tag('k', Hostile())
                raise AppError('mine')
        except AppError as error:
            assert str(error) == 'mine' and error.__traceback__ is not None
        else:
            raise SystemExit('the application exception was swallowed')

    # Failures injected inside the agent, as a bug in it would fail.
    for mode in ('error', 'panic', 'error'):
        context = get_context()
        _core._fail_next(mode)
        with context.new_local_span('injected') as span:
            assert span.is_noop, span
            result = 'computed'
        assert result == 'computed'

    for mode in ('panic', 'error'):
        try:
            with get_context().new_local_span('exit fails'):
                _core._fail_next(mode)
                raise AppError('in flight')
        except AppError as error:
            assert str(error) == 'in flight'
        else:
            raise SystemExit('__exit__ swallowed the application exception')
    # The span whose stop failed does not stay active.
    assert get_context().active_span is None

    agent.stop()
    print('application done')
    """
)


def warnings_for(stderr: str, site: str) -> int:
    return sum(1 for line in stderr.splitlines() if f'{site} failed inside the agent' in line)


def test_agent_failures_leave_the_application_alone_and_warn_once_per_site(collector, tmp_path):
    script = tmp_path / 'app.py'
    script.write_text(APP)
    done = subprocess.run(
        [sys.executable, str(script), collector.grpc_address], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'application done'
    for site in ('Span.set_tag', 'Span.log', 'SpanContext.new_local_span', 'Span.__exit__'):
        assert warnings_for(done.stderr, site) == 1, (site, done.stderr)
    assert 'hostile __str__' in done.stderr
    assert 'failure injected by _core._fail_next' in done.stderr
    # Nothing else failed.
    assert warnings_for(done.stderr, 'Span.tag_http_status') == 0
    assert warnings_for(done.stderr, 'get_context') == 0


def test_a_failed_call_leaves_the_span_and_its_segment_intact(reported):
    with get_context().new_entry_span('/intact') as span:
        span.set_tag('before', 'yes')
        assert span.set_tag('bad', Hostile()) is span
        span.log(Hostile())
        span.set_tag('after', 'yes')
    [segment] = reported()
    [reported_span] = segment['spans']
    assert reported_span['operationName'] == '/intact'
    assert reported_span['tags'] == [{'key': 'before', 'value': 'yes'}, {'key': 'after', 'value': 'yes'}]


def test_a_failed_span_opener_gives_a_noop_span(reported):
    context = get_context()
    _core._fail_next('panic')
    span = context.new_entry_span('/never')
    assert isinstance(span, NoopSpan)
    with span:
        with get_context().new_local_span('under the noop') as child:
            assert isinstance(child, NoopSpan)
    assert reported() == []
