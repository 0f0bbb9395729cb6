"""The test process itself runs the agent, reporting to the session's collector.

Plugins are disabled here so the tests' own HTTP calls to the collector are not traced.
"""

from __future__ import annotations

import pytest
import yaml

from skywalking import _core, agent, config

SERVICE = 'api-test'


@pytest.fixture(scope='session')
def started_agent(collector):
    config.init(
        agent_name=SERVICE,
        agent_instance_name='api-test-instance',
        agent_collector_backend_services=collector.grpc_address,
        agent_disable_plugins=['sw_.*'],
        agent_profile_active=False,
    )
    agent.start()
    yield collector
    agent.stop()


@pytest.fixture
def reported(started_agent):
    """Returns a function giving the segments reported so far, newest data each call."""
    _core.flush(10.0)  # what earlier tests queued must not arrive after the reset
    started_agent.reset()

    def segments() -> list[dict]:
        assert _core.flush(10.0), 'segments were not delivered within 10 s'
        data = yaml.safe_load(started_agent.receive_data())
        for item in data.get('segmentItems') or []:
            if item['serviceName'] == SERVICE:
                return item['segments']
        return []

    return segments
