"""The registry of meters, by name (a second meter of the same name replaces the first)."""

from __future__ import annotations


class MeterService:
    """Upstream's `MeterService`: `register(meter)` and `get_meter(name)`."""

    def __init__(self) -> None:
        self.meter_map: dict[str, object] = {}

    def register(self, meter) -> None:
        meter._register()
        self.meter_map[meter.get_id().get_name()] = meter

    def get_meter(self, name: str):
        return self.meter_map.get(name)

    def send(self) -> None:
        """Upstream's periodic send; the native reporter sends every period by itself."""
