"""Meters, as upstream's `skywalking.meter`: `counter.Counter` (with `CounterMode`),
`gauge.Gauge` and `histogram.Histogram`, each made with its `Builder`.

The values live in the native core (lock-free updates from any thread) and are reported
every ``agent_meter_reporter_period`` with the ``instance_pvm_*`` meters and the agent's own
counters, over gRPC or Kafka (HTTP has no meter endpoint, as upstream). Meters can be built
before or after `agent.start()`.
"""

from skywalking.meter.meter_service import MeterService

_meter_service = MeterService()


def init(force: bool = False) -> None:
    """Upstream starts its meter thread here; the native reporter needs nothing."""


__all__ = ['MeterService', 'init']
