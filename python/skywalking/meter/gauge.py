"""`Gauge`: the value its generator yields at each report (``next(generator, None) or 0``)."""

from __future__ import annotations

from skywalking.meter.meter import BaseMeter, MeterType


class Gauge(BaseMeter):
    def __init__(self, name: str, generator, tags=None):
        super().__init__(name, tags)
        self.generator = generator

    def _register(self) -> None:
        from skywalking import _core

        self._cell = _core.register_gauge(self.get_name(), self.meterId.labels(), self.generator)

    def get(self) -> float:
        """The value read at the last period (read natively, once per period)."""
        return 0.0 if self._cell is None else self._cell.get()

    def get_type(self) -> MeterType:
        return MeterType.GAUGE

    class Builder(BaseMeter.Builder):
        def __init__(self, name: str, generator, tags=None):
            self.meter = Gauge(name, generator, tags)
