"""gRPC (grpcio): entry spans for servers (`grpc.server`, `grpc.aio.server`) and exit spans
for channels (`grpc.insecure_channel`, `grpc.secure_channel` and their `grpc.aio`
counterparts), unary and streaming, with `sw8` and `sw8-correlation` carried in the call's
metadata.

Both sides name the span after the full method (``/pkg.Service/Method``), record component
Grpc (23), layer RPCFramework and ``grpc.method``; the client adds ``grpc.url`` (the
target) and its peer is the target, the server's peer is ``context.peer()``. A failed call
is an error span with ``grpc.status_code`` (``StatusCode.<NAME>``, as upstream writes it).
Methods listed in ``plugin_grpc_ignored_methods`` are not traced. A channel to the agent's
own collector address is left alone.

Where a call's outcome is known when the interceptor returns (a blocking unary call, and
every ``grpc.aio`` unary-unary call, whose status the interceptor awaits) the client span
covers the whole call and records its status; for futures and streamed responses it
covers starting the call, as upstream's does.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component, Layer, config
from skywalking._core import get_context, rpc_exit_span
from skywalking.plugins._common import EntryScope, failed, noop_scope, noop_span, read_trace_headers
from skywalking.plugins._patch import patch

link_vector = ['https://grpc.io/docs/languages/python']
component = Component.Grpc
support_matrix = {'grpcio': {'>=3.10': ['1.60', '1.85']}}
note = ''
hooked_modules = ['grpc']

_GRPC = int(component)
_RPC = int(Layer.RPCFramework)
GRPC_METHOD = 'grpc.method'
GRPC_URL = 'grpc.url'
GRPC_STATUS_CODE = 'grpc.status_code'


def _method_name(details: Any) -> str:
    method = details.method
    return method.decode() if isinstance(method, bytes) else str(method)


def _ignored(method: str) -> bool:
    return bool(config.plugin_grpc_ignored_methods) and bool(config.ignore_grpc_method_check(method))


def _is_collector(target: Any) -> bool:
    return str(target) in {s.strip() for s in str(config.agent_collector_backend_services).split(',')}


def _status_text(code: Any) -> str:
    return str(code)  # 'StatusCode.UNAVAILABLE', as upstream's str() of the enum


def _tag_status(span: Any, code: Any) -> None:
    span.set_tag(GRPC_STATUS_CODE, _status_text(code))


# --- client --------------------------------------------------------------------------------


def _exit_span(method: str, target: str, tags: tuple | None = None) -> tuple[Any, list[tuple[str, str]]]:
    """The exit span of a call, started for the `with` (or `start()`) that must follow, and
    the metadata pairs it sends: ``sw8``, and ``sw8-correlation`` when there is a
    correlation (an empty one is not sent, as over HTTP: each pair costs grpcio its
    conversion to the core's metadata)."""
    try:
        if config.plugin_grpc_ignored_methods and config.ignore_grpc_method_check(method):
            span = noop_span()
            span.start()
            return span, span.inject_headers()
    except Exception:
        failed('sw_grpc client')
        return noop_span(), []
    return rpc_exit_span(method, target, _GRPC, _RPC, tags or (GRPC_METHOD, method, GRPC_URL, target))


def _with_metadata(metadata: Any, pairs: list[tuple[str, str]]) -> list:
    if not metadata:
        return pairs
    names = {name for name, _ in pairs}
    kept = [item for item in metadata if str(item[0]).lower() not in names]
    return kept + pairs


def _rpc_error() -> type:
    """`grpc.RpcError`, looked up only when a call raised (an ``import`` statement on every
    call costs a module lookup and a check that the module is not initialising)."""
    import grpc

    return grpc.RpcError


def _record_outcome(span: Any, outcome: Any) -> None:
    """A call that is over when it returns (failed at once): its status on `span`."""
    import grpc

    try:
        if outcome.done():
            code = outcome.code()
            if code is not None and code != grpc.StatusCode.OK:
                _tag_status(span, code)
                span.log(outcome.exception() or _status_text(code))
    except Exception:
        pass  # not a grpc.Future: nothing more to record


class _Traced:
    """A channel's multi-callable that sends each call inside an exit span, with the trace
    metadata added. It calls the channel's own multi-callable directly: grpcio's
    ``intercept_channel`` machinery (call details, outcome objects, a continuation per call)
    cost more per unary call than all of the agent's own work on it (W6)."""

    __slots__ = ('_inner', '_method', '_tags', '_target')

    def __init__(self, inner: Any, method: Any, target: str):
        self._inner = inner
        self._method = method.decode() if isinstance(method, bytes) else str(method)
        self._target = target
        self._tags = (GRPC_METHOD, self._method, GRPC_URL, target)

    def _blocking(self, call: Any, request: Any, timeout, metadata, credentials, wait_for_ready, compression):
        """A blocking call: the span covers it whole and records a failed call's status."""
        if config.plugin_grpc_ignored_methods:  # started either way
            span, pairs = _exit_span(self._method, self._target, self._tags)
        else:  # what _exit_span does then, without its frame: every blocking call comes here
            span, pairs = rpc_exit_span(self._method, self._target, _GRPC, _RPC, self._tags)
        try:
            if metadata:  # most calls pass none: no frame for the merge
                pairs = _with_metadata(metadata, pairs)
            result = call(request, timeout, pairs, credentials, wait_for_ready, compression)
        except _rpc_error() as error:
            code = error.code() if hasattr(error, 'code') else None
            if code is not None:
                _tag_status(span, code)
            span.log(error)
            span.stop()
            raise
        except BaseException as error:
            span.__exit__(type(error), error, error.__traceback__)
            raise
        span.stop()
        return result

    def _started(self, call: Any, request: Any, timeout, metadata, credentials, wait_for_ready, compression):
        """A future or a streamed call: the span covers starting it, as upstream's."""
        span, pairs = _exit_span(self._method, self._target, self._tags)
        with span:
            outcome = call(request, timeout, _with_metadata(metadata, pairs), credentials, wait_for_ready, compression)
            _record_outcome(span, outcome)
            return outcome


class _TracedUnaryUnary(_Traced):
    __slots__ = ()

    def __call__(self, request, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None):
        return self._blocking(self._inner, request, timeout, metadata, credentials, wait_for_ready, compression)

    def with_call(self, request, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None):
        inner = self._inner.with_call
        return self._blocking(inner, request, timeout, metadata, credentials, wait_for_ready, compression)

    def future(self, request, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None):
        inner = self._inner.future
        return self._started(inner, request, timeout, metadata, credentials, wait_for_ready, compression)


class _TracedUnaryStream(_Traced):
    __slots__ = ()

    def __call__(self, request, timeout=None, metadata=None, credentials=None, wait_for_ready=None, compression=None):
        return self._started(self._inner, request, timeout, metadata, credentials, wait_for_ready, compression)


class _TracedStreamUnary(_TracedUnaryUnary):
    __slots__ = ()


class _TracedStreamStream(_TracedUnaryStream):
    __slots__ = ()


def _traced_channel_class():
    import grpc

    class TracedChannel(grpc.Channel):
        """A channel whose multi-callables trace each call (see `_Traced`); everything else
        is the wrapped channel's."""

        def __init__(self, channel: Any, target: str):
            self._channel = channel
            self._target = target

        def subscribe(self, callback, try_to_connect=False):
            return self._channel.subscribe(callback, try_to_connect=try_to_connect)

        def unsubscribe(self, callback):
            return self._channel.unsubscribe(callback)

        def unary_unary(self, method, *args, **kwargs):
            return _TracedUnaryUnary(self._channel.unary_unary(method, *args, **kwargs), method, self._target)

        def unary_stream(self, method, *args, **kwargs):
            return _TracedUnaryStream(self._channel.unary_stream(method, *args, **kwargs), method, self._target)

        def stream_unary(self, method, *args, **kwargs):
            return _TracedStreamUnary(self._channel.stream_unary(method, *args, **kwargs), method, self._target)

        def stream_stream(self, method, *args, **kwargs):
            return _TracedStreamStream(self._channel.stream_stream(method, *args, **kwargs), method, self._target)

        def close(self):
            return self._channel.close()

        def __enter__(self):
            self._channel.__enter__()
            return self

        def __exit__(self, exc_type, exc_val, exc_tb):
            return self._channel.__exit__(exc_type, exc_val, exc_tb)

        def __getattr__(self, name):  # private helpers some libraries reach for
            return getattr(self._channel, name)

    return TracedChannel


def _wrap_channel(channel_factory):
    channel_class = _traced_channel_class()

    def _sw_channel(target, *args, **kwargs):
        channel = channel_factory(target, *args, **kwargs)
        if _is_collector(target):
            return channel
        return channel_class(channel, str(target))

    return _sw_channel


def _aio_interceptors(target: str) -> list:
    import grpc
    from grpc import aio

    async def intercept(continuation, details, request, await_status: bool):
        method = _method_name(details)
        span, pairs = _exit_span(method, target)
        metadata = aio.Metadata(*_with_metadata(details.metadata, pairs))
        details = details._replace(metadata=metadata)
        with span:
            call = await continuation(details, request)
            if await_status:
                code = await call.code()
                if code != grpc.StatusCode.OK:
                    _tag_status(span, code)
                    span.log(f'{_status_text(code)}: {await call.details()}')
            return call

    class UnaryUnary(aio.UnaryUnaryClientInterceptor):
        async def intercept_unary_unary(self, continuation, details, request):
            return await intercept(continuation, details, request, True)

    class UnaryStream(aio.UnaryStreamClientInterceptor):
        async def intercept_unary_stream(self, continuation, details, request):
            return await intercept(continuation, details, request, False)

    class StreamUnary(aio.StreamUnaryClientInterceptor):
        async def intercept_stream_unary(self, continuation, details, request_iterator):
            return await intercept(continuation, details, request_iterator, False)

    class StreamStream(aio.StreamStreamClientInterceptor):
        async def intercept_stream_stream(self, continuation, details, request_iterator):
            return await intercept(continuation, details, request_iterator, False)

    return [UnaryUnary(), UnaryStream(), StreamUnary(), StreamStream()]


def _wrap_aio_channel(channel_factory):
    def _sw_aio_channel(target, *args, **kwargs):
        if _is_collector(target):
            return channel_factory(target, *args, **kwargs)
        # `interceptors` is the last parameter of both factories.
        names = ('options', 'compression', 'interceptors')
        if channel_factory.__name__ == 'secure_channel':
            names = ('credentials', *names)
        bound = dict(zip(names, args, strict=False))
        bound.update(kwargs)
        bound['interceptors'] = _aio_interceptors(str(target)) + list(bound.get('interceptors') or ())
        return channel_factory(target, **bound)

    return _sw_aio_channel


# --- server --------------------------------------------------------------------------------


def _entry_scope(details: Any, context: Any) -> Any:
    try:
        method = _method_name(details)
        if _ignored(method):
            return noop_scope()
        metadata = details.invocation_metadata or ()
        sw8, correlation = read_trace_headers(
            metadata, lambda items, name: next((v for k, v in items if k == name), None)
        )
        span = get_context().new_entry_span(method, None, sw8=sw8, correlation=correlation)
        try:
            peer = context.peer()
        except Exception:
            peer = None
        return EntryScope(span, _GRPC, peer, ((GRPC_METHOD, method),), layer=_RPC)
    except Exception:
        failed('sw_grpc server')
        return noop_scope()


def _server_code(context: Any, error: BaseException | None) -> Any:
    import grpc

    code = error.code() if isinstance(error, grpc.RpcError) and hasattr(error, 'code') else None
    if code is None:
        try:
            code = context.code()
        except Exception:
            code = None
    if code is None and error is not None:
        code = grpc.StatusCode.UNKNOWN
    if code is None or code == grpc.StatusCode.OK or code == 0:
        return None
    return code if isinstance(code, grpc.StatusCode) else _from_int(code)


def _from_int(code: Any) -> Any:
    import grpc

    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status
    return code


def _finish_server(scope: Any, context: Any, error: BaseException | None) -> None:
    try:
        code = _server_code(context, error)
        if code is not None:
            _tag_status(scope.span, code)
            if error is None:
                scope.span.log(_status_text(code))
    except Exception:
        failed('sw_grpc server')
    scope.finish(error)


def _handler_kind(handler: Any) -> tuple[str, Any]:
    for kind in ('unary_unary', 'unary_stream', 'stream_unary', 'stream_stream'):
        behaviour = getattr(handler, kind, None)
        if behaviour is not None:
            return kind, behaviour
    raise RuntimeError('RPC handler without a behaviour')


def _rebuild(handler: Any, kind: str, behaviour: Any) -> Any:
    import grpc

    factory = getattr(grpc, f'{kind}_rpc_method_handler')
    return factory(
        behaviour,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _traced_sync(kind: str, behaviour: Any, details: Any) -> Any:
    if kind.endswith('_stream'):

        def streaming(request, context):
            scope = _entry_scope(details, context)
            scope.start()
            try:
                yield from behaviour(request, context)
            except BaseException as error:
                _finish_server(scope, context, error)
                raise
            _finish_server(scope, context, None)

        return streaming

    def unary(request, context):
        scope = _entry_scope(details, context)
        scope.start()
        try:
            response = behaviour(request, context)
        except BaseException as error:
            _finish_server(scope, context, error)
            raise
        _finish_server(scope, context, None)
        return response

    return unary


def _traced_aio(kind: str, behaviour: Any, details: Any) -> Any:
    import inspect

    if kind.endswith('_stream'):

        async def streaming(request, context):
            scope = _entry_scope(details, context)
            scope.start()
            try:
                result = behaviour(request, context)
                if inspect.isawaitable(result):  # writes through context.write()
                    await result
                else:
                    async for response in result:
                        yield response
            except BaseException as error:
                _finish_server(scope, context, error)
                raise
            _finish_server(scope, context, None)

        return streaming

    async def unary(request, context):
        scope = _entry_scope(details, context)
        scope.start()
        try:
            response = await behaviour(request, context)
        except BaseException as error:
            _finish_server(scope, context, error)
            raise
        _finish_server(scope, context, None)
        return response

    return unary


def _server_interceptor():
    import grpc

    class ServerInterceptor(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            handler = continuation(details)
            if handler is None:
                return None
            kind, behaviour = _handler_kind(handler)
            return _rebuild(handler, kind, _traced_sync(kind, behaviour, details))

    return ServerInterceptor()


def _aio_server_interceptor():
    from grpc import aio

    class ServerInterceptor(aio.ServerInterceptor):
        async def intercept_service(self, continuation, details):
            handler = await continuation(details)
            if handler is None:
                return None
            kind, behaviour = _handler_kind(handler)
            return _rebuild(handler, kind, _traced_aio(kind, behaviour, details))

    return ServerInterceptor()


def _wrap_server(server_factory, make_interceptor):
    def _sw_server(*args, **kwargs):
        # `interceptors` is the third parameter of grpc.server and grpc.aio.server.
        if len(args) > 2:
            args = (*args[:2], [make_interceptor(), *(args[2] or ())], *args[3:])
        else:
            kwargs['interceptors'] = [make_interceptor(), *(kwargs.get('interceptors') or ())]
        return server_factory(*args, **kwargs)

    return _sw_server


def install() -> None:
    import grpc

    patch(grpc, 'insecure_channel', _wrap_channel)
    patch(grpc, 'secure_channel', _wrap_channel)
    patch(grpc, 'server', lambda factory: _wrap_server(factory, _server_interceptor))
    try:
        from grpc import aio
    except ImportError:
        return
    patch(aio, 'insecure_channel', _wrap_aio_channel)
    patch(aio, 'secure_channel', _wrap_aio_channel)
    patch(aio, 'server', lambda factory: _wrap_server(factory, _aio_server_interceptor))
