"""No failure inside the agent reaches the application: a request-path call of `_core` that
fails (an error or a panic) logs one warning per call site and steps aside, and the
application's results and its own exceptions are what they would be without the agent."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

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


# ---------------------------------------------------------------- wrongly typed arguments

#: Every request-path entry of `_core`, each with calls of wrongly typed arguments as a buggy
#: plugin would make them (`span` is a running span of the application's request). PyO3
#: converts arguments before a method's body runs, so these raised TypeError into the
#: application before the arguments were taken loosely and converted inside the guard.
#: The key is the name the warning gives.
BAD_CALLS = textwrap.dedent(
    """
    from skywalking import _core
    from skywalking.trace.context import get_context

    counter = _core.register_counter('bad-args', [], False)


    def set_attr(name, value):
        def call(span):
            setattr(span, name, value)
        return call


    BAD_CALLS = {
        'get_context': [],  # no arguments; listed so that a warning from it would show
        'SpanContext.new_entry_span': [
            lambda span: get_context().new_entry_span(None),
            lambda span: get_context().new_entry_span('/x', inherit='7'),
            lambda span: get_context().new_entry_span('/x', sw8=5, correlation=b'k:v', method=1),
        ],
        'SpanContext.new_exit_span': [
            lambda span: get_context().new_exit_span('/x', 42),
            lambda span: get_context().new_exit_span('/x', 'db:5432', component='redis', method=b'GET'),
        ],
        'SpanContext.new_http_exit_span': [
            lambda span: get_context().new_http_exit_span('http://h/p', 'GET', 'requests'),
            lambda span: get_context().new_http_exit_span('http://h/p', 'GET', 7002, inject_on_send='yes'),
        ],
        'SpanContext.new_local_span': [lambda span: get_context().new_local_span(None)],
        'SpanContext.peek': [lambda span: get_context().peek(raise_if_none='yes')],
        'SpanContext.put_correlation': [lambda span: get_context().put_correlation(1, 2)],
        'SpanContext.get_correlation': [lambda span: get_context().get_correlation(None)],
        'SpanContext.continued': [lambda span: get_context().continued('a snapshot')],
        'Span.tag': [lambda span: span.tag(5)],
        'Span.set_tag': [lambda span: span.set_tag('k', 'v', overridable='no')],
        'Span.start_wsgi': [
            lambda span: get_context().new_entry_span('/w').start_wsgi([], 'GET', 1),
            lambda span: get_context().new_entry_span('/w').start_wsgi({}, None, 'flask'),
        ],
        'Span.tag_http_status': [lambda span: span.tag_http_status('200')],
        'Span.finish_with_status': [
            lambda span: _core.request_exit_span('http://h/p', 'GET', 7002).finish_with_status('200'),
        ],
        'Span.op': [set_attr('op', None)],
        'Span.peer': [set_attr('peer', 5)],
        'Span.component': [set_attr('component', 'flask')],
        'Span.layer': [set_attr('layer', 'Http')],
        'Span.error_occurred': [set_attr('error_occurred', 'yes')],
        'Span.inherit': [set_attr('inherit', 'requests')],
        'NoopSpan': [lambda span: _core.NoopSpan(5)],
        'wsgi_entry_span': [
            lambda span: _core.wsgi_entry_span('/x', None, 'GET'),
            lambda span: _core.wsgi_entry_span('/x', {}, 5, inherit='x'),
        ],
        'wsgi_url': [lambda span: _core.wsgi_url(['HTTP_HOST'])],
        'EntryScope': [
            lambda span: _core.EntryScope(None, 1),
            lambda span: _core.EntryScope(span, 'flask', peer=5, tags={'k': 'v'}, layer='Http'),
        ],
        'EntryScope.finish_with_status': [lambda span: _core.EntryScope(span, 1).finish_with_status('200')],
        'write_trace_headers': [lambda span: _core.write_trace_headers(None)],
        'write_trace_header_items': [
            lambda span: _core.write_trace_header_items(None),
            lambda span: _core.write_trace_header_items((b'sw8', b'sw8', b'x')),
        ],
        'report_log_record': [
            lambda span: _core.report_log_record('now', 'text', 'INFO', 'app', 'MainThread'),
            lambda span: _core.report_log_record(0.0, None, 'INFO', 'app', 'MainThread', tags={'k': 'v'}),
        ],
        'MeterCell.increment': [lambda span: counter.increment('one')],
        'MeterCell.add_value': [lambda span: counter.add_value(None)],
        'MeterCell.set_rate': [lambda span: counter.set_rate('yes')],
        'gc_callback': [lambda span: _core.gc_callback(None, None)],
        'decode_sw8': [lambda span: _core.decode_sw8(None)],
        'decode_correlation': [lambda span: _core.decode_correlation(b'k:v', max_elements='3')],
    }
    """
)

#: Native helpers that report through the plugin helpers' logger (`_common.failed`) and give
#: a no-op `EntryScope`: the key is again the name its warning gives.
HELPER_BAD_CALLS = textwrap.dedent(
    """
    HELPER_BAD_CALLS = {
        'wsgi_entry_span helper': [
            lambda span: _core.wsgi_entry_scope({}, 'flask'),
            lambda span: _core.wsgi_entry_scope({}, 1, method=5, inherit='x'),
        ],
        'asgi_entry_span helper': [
            lambda span: _core.asgi_entry_scope({'type': 'http', 'path': '/'}, 'fastapi'),
            lambda span: _core.asgi_entry_scope({'type': 'http', 'path': '/'}, 1, None, 5, 'x', 7, 8, 9),
        ],
        'db_exit_span helper': [
            lambda span: _core.db_exit_span('SELECT', 'db:5432', 'psycopg', 'PostgreSQL'),
            lambda span: _core.db_exit_span('SELECT', 'db:5432', 7010, 'PostgreSQL', None, 'x', None, '10'),
        ],
        'cache_exit_span helper': [
            lambda span: _core.cache_exit_span('Redis/GET', ('r', 6379), 7, 'GET'),
        ],
        'rpc_exit_span helper': [
            lambda span: _core.rpc_exit_span('/svc/Call', 'host:50051', 'grpc', 2, ('grpc.method', '/svc/Call')),
            lambda span: _core.rpc_exit_span('/svc/Call', 'host:50051', 23, 2, ['grpc.method', '/svc/Call']),
            lambda span: _core.rpc_exit_span('/svc/Call', 'host:50051', 23, 2, (5, '/svc/Call')),
        ],
        'request_exit_span helper': [
            lambda span: _core.request_exit_span('http://h/p', 'GET', 'requests'),
            lambda span: _core.request_exit_span('http://h/p', 'GET', 7002, inject_on_send='yes'),
        ],
        'http_entry_span helper': [
            lambda span: _core.http_entry_scope('tornado', 'GET', '/'),
            lambda span: _core.http_entry_scope(3012, 'GET', '/', b'1-x', None, 8080),
        ],
    }
    """
)

BAD_ARGUMENTS_APP = (
    APP.split('class Hostile:')[0]
    + BAD_CALLS
    + HELPER_BAD_CALLS
    + textwrap.dedent(
        """
        import json


        class AppError(Exception):
            pass


        def handler(call):
            with get_context().new_entry_span('/orders') as span:
                returned = call(span)
                # A span method that returns its span for chaining gives the application's own.
                return 'served', None if returned is span else returned


        def failing_handler(call):
            with get_context().new_local_span('work') as span:
                call(span)
                raise AppError('mine')


        def outcome(call):
            # What the application sees: its result and its own exception, twice (the
            # second call must neither raise nor warn again).
            seen = []
            for _ in range(2):
                try:
                    served, returned = handler(call)
                    seen.append(served)
                    if isinstance(returned, tuple) and returned and isinstance(returned[0], _core.Span):
                        returned = returned[0]  # (span, headers)
                    if isinstance(returned, _core.Span) or isinstance(returned, _core.EntryScope):
                        span = returned if isinstance(returned, _core.Span) else returned.span
                        seen.append('noop span' if span.is_noop else 'recording span')
                except Exception as error:
                    seen.append(f'{type(error).__name__}: {error}')
                try:
                    failing_handler(call)
                except AppError as error:
                    seen.append('AppError' if str(error) == 'mine' and error.__traceback__ else repr(error))
                except Exception as error:
                    seen.append(f'{type(error).__name__}: {error}')
                else:
                    seen.append('nothing raised')
            return seen


        report = {
            site: [outcome(call) for call in calls]
            for site, calls in {**BAD_CALLS, **HELPER_BAD_CALLS}.items()
        }
        assert get_context().active_span is None
        agent.stop()
        print(json.dumps(report))
        """
    )
)


@pytest.fixture(scope='module')
def bad_arguments_run(collector, tmp_path_factory):
    script = tmp_path_factory.mktemp('bad-arguments') / 'app.py'
    script.write_text(BAD_ARGUMENTS_APP)
    done = subprocess.run(
        [sys.executable, str(script), collector.grpc_address], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def _keys(source: str) -> list[str]:
    """The case names of BAD_CALLS / HELPER_BAD_CALLS, read without importing the agent."""
    return [line.strip().split("'")[1] for line in source.splitlines() if line.startswith("    '")]


@pytest.mark.parametrize('site', _keys(BAD_CALLS))
def test_a_wrongly_typed_argument_leaves_the_application_alone_and_warns_once(bad_arguments_run, site):
    report, stderr = bad_arguments_run
    for seen in report[site]:
        # Served, the span a bad opener gave records nothing, the application's own
        # exception goes on unchanged; the same the second time.
        assert [s for s in seen if s != 'noop span'] == ['served', 'AppError'] * 2, seen
        assert 'recording span' not in seen, seen
    warnings = [line for line in stderr.splitlines() if f'] {site} failed inside the agent' in line]
    if site == 'get_context':
        assert warnings == []
        return
    assert len(warnings) == 1, (site, stderr)
    assert 'TypeError' in warnings[0] or 'AttributeError' in warnings[0], warnings[0]


@pytest.mark.parametrize(
    'helper',
    ['wsgi_entry_span', 'asgi_entry_span', 'db_exit_span', 'cache_exit_span', 'rpc_exit_span', 'request_exit_span'],
)
def test_a_wrongly_typed_argument_to_a_native_helper_warns_once_through_the_plugin_logger(bad_arguments_run, helper):
    report, stderr = bad_arguments_run
    for seen in report[f'{helper} helper']:
        assert seen == ['served', 'noop span', 'AppError'] * 2, seen
    warnings = [line for line in stderr.splitlines() if f'{helper} failed; the call goes ahead untraced' in line]
    assert len(warnings) == 1, stderr


#: Entries with nothing to convert: no arguments, or any object taken as it is.
TAKE_ANY_OBJECT = {
    'get_context', 'capture_active', 'inside_exit_span', 'tag_text', 'trace_ids', 'handle_log',
    'Span.start', 'Span.stop', 'Span.__enter__', 'Span.__exit__', 'Span.log', 'Span.raised',
    'Span.inject', 'Span.inject_headers', 'Span.extract', 'SpanContext.capture',
    'EntryScope.start', 'EntryScope.__enter__', 'EntryScope.__exit__', 'EntryScope.finish',
    'MeterCell.get',
}  # fmt: skip
#: Parts of the Python plugin helpers, which call them in their own `try` and answer a failure
#: with a no-op span and one warning (tests/api/test_plugin_helpers.py).
RAISE_TO_THEIR_HELPER = {'tag_exit_span', 'trace_headers'}
#: Start, stop, fork, configuration, registration of meters, tools: not on the request path,
#: and a mistake there should be seen.
NOT_ON_THE_REQUEST_PATH = {
    'start', 'stop', 'flush', 'close_exit_gate', 'terminate_after_flush', 'after_fork_in_child', 'stats', 'is_started',
    'run_collector', 'capture_current_stack', 'install_log_hook', 'register_counter',
    'register_histogram', 'register_gauge', 'meter_value', 'seed_gc_counts', '_fail_next',
}  # fmt: skip


def _entries() -> set[str]:
    """Every function of `_core`, and every method and writable attribute of the classes a
    plugin calls on the request path."""
    names = {name for name, value in vars(_core).items() if type(value).__name__ == 'builtin_function_or_method'}
    span = NoopSpan()
    for cls in (_core.Span, _core.SpanContext, _core.EntryScope, _core.MeterCell):
        for name, value in vars(cls).items():
            if name.startswith('_') and name not in ('__enter__', '__exit__'):
                continue
            if type(value).__name__ == 'getset_descriptor':
                if cls is not _core.Span:
                    continue  # the others' attributes are read-only
                try:
                    setattr(span, name, getattr(span, name))
                except AttributeError:
                    continue  # read-only
            names.add(f'{cls.__name__}.{name}')
    return names


def test_every_request_path_entry_has_a_wrongly_typed_call_here():
    """A new `_core` function or method fails this until it is sorted into one of the lists
    (and, if it converts arguments, given a wrongly typed call above)."""
    covered = set(_keys(BAD_CALLS)) | {'wsgi_entry_scope', 'asgi_entry_scope', 'NoopSpan', 'EntryScope'}
    covered |= {'db_exit_span', 'cache_exit_span', 'rpc_exit_span', 'request_exit_span', 'http_entry_scope'}
    sorted_out = covered | TAKE_ANY_OBJECT | RAISE_TO_THEIR_HELPER | NOT_ON_THE_REQUEST_PATH
    assert _entries() - sorted_out == set()
