"""Base classes of the meter API, with upstream's names and signatures."""

from __future__ import annotations

import functools
import inspect
import timeit
from abc import ABC, abstractmethod
from enum import Enum


class MeterType(Enum):
    GAUGE = 1
    COUNTER = 2
    HISTOGRAM = 3


class MeterTag:
    def __init__(self, key: str, value: str):
        self.key = key
        self.value = value

    def __lt__(self, other: MeterTag) -> bool:
        return (self.key, self.value) < (other.key, other.value)

    def __eq__(self, other) -> bool:
        return isinstance(other, MeterTag) and (self.key, self.value) == (other.key, other.value)

    def __hash__(self) -> int:
        return hash((self.key, self.value))

    def get_key(self) -> str:
        return self.key

    def get_value(self) -> str:
        return self.value


class MeterId:
    def __init__(self, name: str, type, tags) -> None:
        self.name = name
        self.type = type
        self.tags = [MeterTag(key, value) for (key, value) in (tags or ())]

    def get_name(self) -> str:
        return self.name

    def get_tags(self) -> list[MeterTag]:
        return self.tags

    def get_type(self):
        return self.type

    def labels(self) -> list[tuple[str, str]]:
        return [(str(tag.key), str(tag.value)) for tag in sorted(self.tags)]

    def __hash__(self) -> int:
        return hash((self.name, self.type, tuple(self.tags)))


class BaseMeter(ABC):
    meter_service = None

    def __init__(self, name: str, tags=None):
        import skywalking.meter as meter

        BaseMeter.meter_service = meter._meter_service
        self.meterId = MeterId(name, self.get_type(), tags)
        self._cell = None

    def get_name(self) -> str:
        return self.meterId.get_name()

    def get_tag(self, tag_key: str):
        for tag in self.meterId.get_tags():
            if tag.get_key() == tag_key:
                return tag.get_value()
        return None

    def get_id(self) -> MeterId:
        return self.meterId

    @abstractmethod
    def get_type(self) -> MeterType: ...

    @abstractmethod
    def _register(self) -> None:
        """Create the native cell that holds the value (called when built)."""

    class Builder(ABC):
        @abstractmethod
        def __init__(self, name: str, tags=None):
            self.meter: BaseMeter | None = None

        def tag(self, name: str, value):
            self.meter.meterId.get_tags().append(MeterTag(name, value))
            return self

        def build(self):
            self.meter.meterId.get_tags().sort()
            BaseMeter.meter_service.register(self.meter)
            return self.meter


class BlockTimer:
    """Passes the seconds spent in its `with` block to `record` (what `create_timer()` of a
    counter or histogram returns)."""

    def __init__(self, metrics: BaseMeter, record):
        self.metrics = metrics
        self._record = record

    def __enter__(self):
        self.start = timeit.default_timer()
        return self

    def __exit__(self, exc_type, exc_value, exc_tb):
        self.stop = timeit.default_timer()
        self._record(self.stop - self.start)


def timed(record):
    """A decorator that passes the seconds each call of the function takes to `record`,
    keeping its return value (upstream's decorators drop it); an `async` function is timed
    until it finishes, not until its coroutine is made."""

    def inner(func):
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                start = timeit.default_timer()
                try:
                    return await func(*args, **kwargs)
                finally:
                    record(timeit.default_timer() - start)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            start = timeit.default_timer()
            try:
                return func(*args, **kwargs)
            finally:
                record(timeit.default_timer() - start)

        return wrapper

    return inner
