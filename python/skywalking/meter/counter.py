"""`Counter`: a total, or (``CounterMode.RATE``) what was added since the last report."""

from __future__ import annotations

import functools
import inspect
from enum import Enum

from skywalking.meter.meter import BaseMeter, BlockTimer, MeterType, timed


class CounterMode(Enum):
    INCREMENT = 1
    RATE = 2


class Counter(BaseMeter):
    def __init__(self, name: str, mode: CounterMode, tags=None):
        super().__init__(name, tags)
        self._mode = mode
        self._pending = 0.0

    @property
    def mode(self) -> CounterMode:
        return self._mode

    @mode.setter
    def mode(self, mode: CounterMode) -> None:
        self._mode = mode
        if self._cell is not None:
            self._cell.set_rate(mode == CounterMode.RATE)

    def _register(self) -> None:
        from skywalking import _core

        self._cell = _core.register_counter(self.get_name(), self.meterId.labels(), self._mode == CounterMode.RATE)
        if self._pending:
            self._cell.increment(self._pending)

    def increment(self, value) -> None:
        if self._cell is None:  # not built yet: kept until it is
            self._pending += float(value)
        else:
            self._cell.increment(float(value))

    def get(self) -> float:
        return self._pending if self._cell is None else self._cell.get()

    def get_type(self) -> MeterType:
        return MeterType.COUNTER

    def create_timer(self) -> Counter.Timer:
        return Counter.Timer(self)

    class Timer(BlockTimer):
        """Adds the seconds spent in its `with` block to the counter."""

        def __init__(self, metrics: Counter):
            super().__init__(metrics, metrics.increment)

    @staticmethod
    def timer(name: str):
        """Adds the seconds each call takes to counter `name`. Unlike upstream, the wrapped
        function's return value is kept (and async functions are timed until they finish)."""

        return timed(lambda seconds: _increment(name, seconds))

    @staticmethod
    def increase(name: str, num=1):
        """Adds `num` to counter `name` after each call (the return value is kept)."""

        def inner(func):
            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def async_wrapper(*args, **kwargs):
                    result = await func(*args, **kwargs)
                    _increment(name, num)
                    return result

                return async_wrapper

            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                result = func(*args, **kwargs)
                _increment(name, num)
                return result

            return wrapper

        return inner

    class Builder(BaseMeter.Builder):
        def __init__(self, name: str, mode: CounterMode, tags=None):
            self.meter = Counter(name, mode, tags)

        def mode(self, mode: CounterMode):
            self.meter.mode = mode
            return self


def _increment(name: str, value) -> None:
    counter = Counter.meter_service.get_meter(name) if Counter.meter_service else None
    if counter is not None:
        counter.increment(value)
