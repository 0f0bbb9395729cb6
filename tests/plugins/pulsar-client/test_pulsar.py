"""The pulsar-client plugin. Pulsar cannot run here: the service drives pulsar-client's own
Python layer over a stand-in for its native client (see services/app.py), so sending and
receiving happen in one process; the spans, the trace headers in the message properties and
the trace through the "broker" are checked in full against the local collector."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port, http_get
from tests.plugins.scenario import check, down_expected

HERE = Path(__file__).parent


def test_a_sent_message_continues_the_trace_where_it_is_received(services, collector, plugin_python):
    topic = f'mq_pulsar_{uuid.uuid4().hex[:12]}'
    port = free_port()
    services.start('pulsar-app', HERE / 'services' / 'app.py', port, python=plugin_python, TOPIC=topic)

    assert http_get(f'http://127.0.0.1:{port}/send')[0] == 200

    text = (HERE / 'expected' / 'send.yml').read_text().replace('TOPIC', topic).replace('PORT', str(port))
    ok, reason = collector.validate(text, timeout=30)
    assert ok, f'{reason}\n{collector.receive_data()}\n{services.logs()}'
    # The application's property travelled next to the agent's.
    services.wait_for_log('pulsar-app', "received b'hello' ['mine', 'sw8']")


@pytest.mark.parametrize('case', ['fail', 'down'])
def test_a_send_that_fails_reaches_the_application_unchanged(services, collector, plugin_python, case):
    topic, port = f'mq_pulsar_{uuid.uuid4().hex[:12]}', free_port()
    services.start('pulsar-app', HERE / 'services' / 'app.py', port, python=plugin_python, TOPIC=topic,
                   DOWN_PORT=str(free_port()))  # fmt: skip
    status, body = http_get(f'http://127.0.0.1:{port}/{case}')
    # pulsar-client's own exception: the send's error span; a broker that is down fails
    # create_producer(), before any send (so no exit span, as upstream).
    assert status == 503, body
    exit_span = None
    if case == 'fail':
        assert body == b'Timeout'
        broker = 'pulsar://127.0.0.1:6650'
        exit_span = {'op': f'Pulsar/Topic/{topic}/Producer', 'component': 73, 'peer': broker, 'error': True,
                     'tags': [('mq.topic', topic), ('mq.broker', broker)]}  # fmt: skip
    else:
        assert body in (b'Timeout', b'ConnectError'), body
    check(collector, services, down_expected('pulsar-app', f'http://127.0.0.1:{port}/{case}', exit_span))
