"""sw_redis remembers each command's operation name and ``cache.op`` instead of building them
per call: the remembered values are the ones built, and the memo stays bounded."""

from __future__ import annotations

import pytest

from skywalking.plugins import sw_redis


@pytest.fixture
def empty_memo(monkeypatch):
    monkeypatch.setattr(sw_redis, '_commands', {})
    return sw_redis._commands


@pytest.mark.parametrize(
    ('command', 'named'),
    [
        ('SET', ('Redis/SET', 'write')),
        ('get', ('Redis/get', 'read')),
        (b'GET', ("Redis/b'GET'", '')),  # as `f'Redis/{command}'` and `cache_op` give them
        ('PING', ('Redis/PING', '')),
        ('', ('Redis/', '')),
    ],
)
def test_a_command_is_named_as_before_and_remembered(empty_memo, command, named):
    assert sw_redis._command(command) == named
    assert empty_memo[command] == named
    assert sw_redis._command(command) == named


def test_the_memo_stops_growing_at_its_bound(empty_memo, monkeypatch):
    monkeypatch.setattr(sw_redis, '_COMMANDS_MAX', 3)
    for i in range(10):
        assert sw_redis._command(f'CMD{i}') == (f'Redis/CMD{i}', '')
    assert list(empty_memo) == ['CMD0', 'CMD1', 'CMD2']
