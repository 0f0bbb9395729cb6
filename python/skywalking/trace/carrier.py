"""Propagation headers, as upstream's `skywalking.trace.carrier`.

A `Carrier` is itself the `sw8` item; iterating it yields the `sw8-correlation` item
first, then itself, so plugins can write `for item in carrier: headers[item.key] = item.val`
and read incoming headers with `item.val = headers[item.key]`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from skywalking import _core


class CarrierItem:
    """One header: `key` and `val`."""

    __slots__ = ('key', 'val')

    def __init__(self, key: str = '', val: str = '') -> None:
        self.key = key
        self.val = val

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.key!r}, {self.val!r})'


class SW8CorrelationCarrier(CarrierItem):
    """The `sw8-correlation` header."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__('sw8-correlation', '')


def _b64(value: str) -> str:
    return base64.b64encode(str(value).encode('utf-8')).decode('ascii')


class Carrier(CarrierItem):
    """The `sw8` header, plus the correlation header it carries along."""

    __slots__ = ('correlation_carrier',)

    def __init__(
        self,
        trace_id: str = '',
        segment_id: str = '',
        span_id: str = '',
        service: str = '',
        service_instance: str = '',
        endpoint: str = '',
        client_address: str = '',
        correlation: dict | None = None,
    ) -> None:
        fields = (trace_id, segment_id, span_id, service, service_instance, endpoint, client_address)
        val = ''
        if any(fields):
            encoded = [_b64(trace_id), _b64(segment_id), str(span_id), _b64(service), _b64(service_instance)]
            encoded += [_b64(endpoint), _b64(client_address)]
            val = '1-' + '-'.join(encoded)
        super().__init__('sw8', val)
        self.correlation_carrier = SW8CorrelationCarrier()
        if correlation:
            self.correlation_carrier.val = ','.join(f'{_b64(k)}:{_b64(v)}' for k, v in correlation.items())

    def __iter__(self) -> Iterator[CarrierItem]:
        yield self.correlation_carrier
        yield self

    def _decoded(self):
        return _core.decode_sw8(self.val or '')

    @property
    def is_valid(self) -> bool:
        return isinstance(self._decoded(), tuple)

    @property
    def is_suppressed(self) -> bool:
        """True for upstream's "not traced" marker, which makes the receiver not trace either."""
        return self._decoded() == 'suppressed'

    def _field(self, index: int):
        decoded = self._decoded()
        return decoded[index] if isinstance(decoded, tuple) else ''

    trace_id = property(lambda self: self._field(0))
    segment_id = property(lambda self: self._field(1))
    span_id = property(lambda self: self._field(2))
    service = property(lambda self: self._field(3))
    service_instance = property(lambda self: self._field(4))
    endpoint = property(lambda self: self._field(5))
    client_address = property(lambda self: self._field(6))

    @property
    def correlation(self) -> dict:
        return dict(_core.decode_correlation(self.correlation_carrier.val or ''))


def _from_headers(sw8: str, correlation: str) -> Carrier:
    """Used by the native core to hand an exit span's headers to `inject()` callers."""
    carrier = Carrier()
    carrier.val = sw8
    carrier.correlation_carrier.val = correlation
    return carrier


__all__ = ['Carrier', 'CarrierItem', 'SW8CorrelationCarrier']
