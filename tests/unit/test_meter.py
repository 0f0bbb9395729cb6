"""The meter API: upstream's classes and builders, values kept natively."""

import asyncio

import pytest

from skywalking.meter.counter import Counter, CounterMode
from skywalking.meter.gauge import Gauge
from skywalking.meter.histogram import Histogram
from skywalking.meter.meter import MeterType


def test_counter_builder_tags_and_increment():
    counter = Counter.Builder('unit_counter', CounterMode.INCREMENT, (('b', '2'),)).tag('a', '1').build()
    counter.increment(2)
    counter.increment(0.5)
    assert counter.get() == 2.5
    assert counter.get_type() is MeterType.COUNTER
    assert [t.key for t in counter.get_id().get_tags()] == ['a', 'b']  # sorted at build
    assert counter.get_tag('b') == '2'
    with counter.create_timer():
        pass
    assert counter.get() > 2.5


def test_decorators_keep_the_return_value():
    """Upstream's decorators return None; these return what the function returns."""
    Counter.Builder('unit_calls', CounterMode.INCREMENT).build()
    Counter.Builder('unit_seconds', CounterMode.INCREMENT).build()
    Histogram.Builder('unit_hist_seconds', [0.5, 1]).build()

    @Counter.increase('unit_calls', num=2)
    def add(a, b):
        return a + b

    @Counter.timer('unit_seconds')
    def double(x):
        return x * 2

    @Histogram.timer('unit_hist_seconds')
    async def later(x):
        await asyncio.sleep(0)
        return x

    assert add(1, 2) == 3
    assert double(4) == 8
    assert asyncio.run(later('x')) == 'x'
    assert Counter.meter_service.get_meter('unit_calls').get() == 2
    assert Counter.meter_service.get_meter('unit_seconds').get() > 0


def test_histogram_validation_as_upstream():
    with pytest.raises(Exception, match='steps must not be empty'):
        Histogram.Builder('unit_bad', [])
    with pytest.raises(Exception, match='steps are invalid'):
        Histogram.Builder('unit_bad', [1, 2], min_value=5)
    histogram = Histogram.Builder('unit_hist', [5, 1, 10, 5]).build()
    assert histogram.steps == [0, 1, 5, 10]


def test_gauge_reads_its_generator():
    def values():
        yield 7
        yield 9

    gauge = Gauge.Builder('unit_gauge', values()).build()
    assert gauge.get() == 7  # read once when built, then once per period
    assert gauge.get_type() is MeterType.GAUGE


def test_same_name_replaces():
    first = Counter.Builder('unit_same', CounterMode.INCREMENT).build()
    second = Counter.Builder('unit_same', CounterMode.RATE).build()
    assert Counter.meter_service.get_meter('unit_same') is second is not first
