"""skywalking.utils.filter, skywalking.utils.lang and skywalking.trace.tags."""

import binascii
import traceback

import pytest

from skywalking import config
from skywalking.trace import tags
from skywalking.utils.filter import sw_filter, sw_traceback, sw_urlparse
from skywalking.utils.lang import b64decode, b64encode, tostring


@pytest.fixture
def safe_mode():
    saved = (config.agent_log_reporter_safe_mode, config.agent_cause_exception_depth)
    config.agent_log_reporter_safe_mode = True
    yield
    config.agent_log_reporter_safe_mode, config.agent_cause_exception_depth = saved


@pytest.mark.parametrize(
    ('url', 'expected'),
    [
        ('http://localhost:8080', 'http://localhost:8080'),
        ('https://localhost:8080', 'https://localhost:8080'),
        ('http://user:password@localhost:8080', 'http://localhost:8080'),
        ('https://user:password@localhost:8080', 'https://localhost:8080'),
        ('ws://user:password@localhost:8080/ws', 'ws://localhost:8080/ws'),
        ('wss://user:password@localhost:8080/ws', 'wss://localhost:8080/ws'),
        ('http://user@Example.COM/a?b=1#c', 'http://Example.COM/a?b=1#c'),
        ('http://u:p@[::1]:8080/x', 'http://[::1]:8080/x'),
        ('http://u:p@ss@host:1/', 'http://host:1/'),
        ('http://host:notaport/', 'http://host:notaport/'),
        ('/relative/path?q=1', '/relative/path?q=1'),
    ],
)
def test_urlparse_strips_credentials_only(url, expected):
    parsed = sw_urlparse(url)
    assert parsed.geturl() == expected
    assert '@' not in parsed.netloc


def test_urlparse_keeps_the_other_parts():
    parsed = sw_urlparse('https://u:p@api.example.com:8443/v1/items?id=3')
    assert (parsed.scheme, parsed.netloc, parsed.path, parsed.query) == (
        'https',
        'api.example.com:8443',
        '/v1/items',
        'id=3',
    )


def test_filter_is_off_by_default():
    assert config.agent_log_reporter_safe_mode is False
    assert sw_filter('http://user:password@localhost:8080') == 'http://user:password@localhost:8080'


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('user:password not in http://localhost:8080', 'user:password not in http://localhost:8080'),
        ('user:password in http://user:password@localhost:8080', 'user:password in http://localhost:8080'),
        (
            'http://user:password@localhost:8080 contains user:password',
            'http://localhost:8080 contains user:password',
        ),
        (
            'DATETIMEhttp://user:password@localhost:8080 contains user:password',
            'DATETIMEhttp://localhost:8080 contains user:password',
        ),
        ('a redis://:secret@r:6379 and amqp://g:g@mq/', 'a redis://r:6379 and amqp://mq/'),
    ],
)
def test_filter_in_safe_mode(safe_mode, text, expected):
    assert sw_filter(text) == expected


def _fail(depth):
    if depth == 0:
        raise ValueError('connect to postgres://admin:hunter2@db:5432 failed')
    _fail(depth - 1)


def test_traceback_is_the_current_exception_limited_and_filtered(safe_mode):
    config.agent_cause_exception_depth = 3
    try:
        _fail(10)
    except ValueError:
        text = sw_traceback()
        full = traceback.format_exc()
    assert text.startswith('Traceback (most recent call last):')
    assert text.rstrip().endswith('ValueError: connect to postgres://db:5432 failed')
    assert text.count('File "') == 3
    assert full.count('File "') > 3
    assert 'hunter2' not in text


def test_traceback_without_safe_mode_keeps_the_text():
    try:
        _fail(0)
    except ValueError:
        text = sw_traceback()
    assert 'admin:hunter2@' in text


def test_b64_round_trip_and_standard_padded_alphabet():
    assert b64encode('') == ''
    assert b64encode('a') == 'YQ=='
    assert b64encode('ü/?>') == 'w7wvPz4='
    assert b64decode('w7wvPz4=') == 'ü/?>'
    with pytest.raises(binascii.Error):
        b64decode('abc')


def test_tostring():
    @tostring
    class Point:
        def __init__(self):
            self.x = 1
            self.y = 'b'

    point = Point()
    assert str(point) == f'Point@{id(point)}[x=1, y=b]'


TAG_KEYS = {
    'TagHttpMethod': 'http.method',
    'TagHttpURL': 'http.url',
    'TagHttpStatusCode': 'http.status_code',
    'TagHttpStatusMsg': 'http.status_msg',
    'TagHttpParams': 'http.params',
    'TagDbType': 'db.type',
    'TagDbInstance': 'db.instance',
    'TagDbStatement': 'db.statement',
    'TagDbSqlParameters': 'db.sql.parameters',
    'TagCacheType': 'cache.type',
    'TagCacheOp': 'cache.op',
    'TagCacheCmd': 'cache.cmd',
    'TagCacheKey': 'cache.key',
    'TagMqBroker': 'mq.broker',
    'TagMqTopic': 'mq.topic',
    'TagMqQueue': 'mq.queue',
    'TagCeleryParameters': 'celery.parameters',
    'TagGrpcMethod': 'grpc.method',
    'TagGrpcUrl': 'grpc.url',
    'TagGrpcStatusCode': 'grpc.status_code',
}


def test_tag_classes_and_keys():
    defined = {name: cls.key for name, cls in vars(tags).items() if name.startswith('Tag') and name != 'Tag'}
    assert defined == TAG_KEYS


def test_only_sql_parameters_may_repeat():
    repeatable = [name for name in TAG_KEYS if not getattr(tags, name).overridable]
    assert repeatable == ['TagDbSqlParameters']
    assert tags.Tag.overridable is True


def test_tag_values_are_strings():
    assert tags.TagHttpStatusCode(404).val == '404'
    assert tags.TagDbSqlParameters(['a', 1]).val == "['a', 1]"
    assert tags.TagHttpURL(None).val == 'None'


def test_tag_with_unprintable_value_does_not_raise():
    class Broken:
        def __str__(self):
            raise RuntimeError('no')

    assert tags.TagCacheKey(Broken()).val == '<unprintable Broken>'


def test_builtin_tags_have_no_instance_dict_and_user_tags_work():
    tag = tags.TagMqTopic('orders')
    assert not hasattr(tag, '__dict__')

    class TagSinger(tags.Tag):
        key = 'Singer'

    singer = TagSinger('Nakajima')
    assert (singer.key, singer.val, singer.overridable) == ('Singer', 'Nakajima', True)
