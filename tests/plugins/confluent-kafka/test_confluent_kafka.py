"""The confluent-kafka plugin. Kafka cannot run here: the producer and the consumer talk to the
tests' protocol-level stand-in (`tests/kafka_broker.py`: Produce, Fetch, ListOffsets and
the group protocol). The consumer assigns itself partition 0 under a group id, or joins its
group with ``subscribe()``. Both run under `sw-python run` (gRPC to the local collector)."""

from __future__ import annotations

from pathlib import Path

from tests.plugins._kafka import broker_down, round_trip

HERE = Path(__file__).parent
MODES = ('poll', 'consume', 'subscribe')

# A subscribed consumer reads as the poll one: the same spans.
test_a_sent_record_continues_the_trace_in_the_consumer = round_trip(HERE, 'mq_confluent', MODES, subscribe_as='poll')
# librdkafka's own error reached the application's delivery callback, unchanged; produce()
# itself worked (the message was queued): as upstream, not an error span.
test_a_broker_that_is_down_reaches_the_delivery_callback = broker_down(
    HERE, 'mq_confluent', b'_MSG_TIMED_OUT', 'Kafka/{topic}//Producer'
)
