"""`Histogram`: counts per bucket. A value goes to the bucket of the largest step strictly
below it; values at or below ``min_value`` are not counted (upstream's rule)."""

from __future__ import annotations

from skywalking.meter.meter import BaseMeter, BlockTimer, MeterType, timed


class Histogram(BaseMeter):
    def __init__(self, name: str, steps, min_value=0, tags=None):
        super().__init__(name, tags)
        if not steps:
            raise Exception('steps must not be empty')  # upstream raises a bare Exception
        steps = sorted(set(steps))
        if steps[0] < min_value:
            raise Exception('steps are invalid')
        self.min_value = min_value
        self.steps = steps if steps[0] == min_value else [min_value, *steps]
        self._pending: list[float] = []

    def _register(self) -> None:
        from skywalking import _core

        self._cell = _core.register_histogram(
            self.get_name(), self.meterId.labels(), [float(s) for s in self.steps], float(self.min_value)
        )
        for value in self._pending:
            self._cell.add_value(value)
        self._pending.clear()

    def add_value(self, value) -> None:
        if self._cell is None:
            self._pending.append(float(value))
        else:
            self._cell.add_value(float(value))

    def get_type(self) -> MeterType:
        return MeterType.HISTOGRAM

    def create_timer(self) -> Histogram.Timer:
        return Histogram.Timer(self)

    class Timer(BlockTimer):
        """Counts the seconds spent in its `with` block."""

        def __init__(self, metrics: Histogram):
            super().__init__(metrics, metrics.add_value)

    @staticmethod
    def timer(name: str):
        """Counts the seconds each call takes in histogram `name`; the return value is kept."""

        return timed(lambda seconds: _add(name, seconds))

    class Builder(BaseMeter.Builder):
        def __init__(self, name: str, steps, min_value=0, tags=None):
            self.meter = Histogram(name, steps, min_value, tags)


def _add(name: str, value: float) -> None:
    histogram = Histogram.meter_service.get_meter(name) if Histogram.meter_service else None
    if histogram is not None:
        histogram.add_value(value)
