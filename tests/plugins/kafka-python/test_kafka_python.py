"""The kafka-python plugin. Kafka cannot run here: the producer and the consumer talk to the
tests' protocol-level stand-in (`tests/kafka_broker.py`: Produce, Fetch, ListOffsets and
the group protocol). The consumer assigns itself partition 0 under a group id, or joins its
group with ``subscribe()``. Both run under `sw-python run` (gRPC to the local collector)."""

from __future__ import annotations

from pathlib import Path

from tests.plugins._kafka import broker_down, round_trip

HERE = Path(__file__).parent
MODES = ('iterate', 'poll', 'subscribe')

# A subscribed consumer reads as the iterate one: the same spans.
test_a_sent_record_continues_the_trace_in_the_consumer = round_trip(HERE, 'mq_kafka', MODES, subscribe_as='iterate')
# kafka-python's own exception reached the application, unchanged.
test_a_broker_that_is_down_gives_an_error_exit_span = broker_down(
    HERE, 'mq_kafka', b'KafkaTimeoutError', 'Kafka/{topic}/Producer', error=True
)
