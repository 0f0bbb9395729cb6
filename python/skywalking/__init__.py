"""skywalking-rs: a drop-in replacement for the Apache SkyWalking Python agent.

This module holds the small value types that plugins and users share: component ids,
span layers, span kinds and span logs. Importing it is cheap and imports nothing else of
the agent, so `from skywalking import Component` never starts anything.

The enums are `IntEnum`s (upstream uses plain `Enum`): spans are Rust objects whose
`component`, `layer` and `kind` attributes take ints, and an `IntEnum` member is an int.
Names and values are upstream's, so `Component.Flask.name` and `.value` are unchanged.
"""

import enum
import time
from collections import namedtuple


class Component(enum.IntEnum):
    """Component ids as registered in SkyWalking's `component-libraries.yml`."""

    Unknown = 0
    Redis = 7
    MongoDB = 9
    PostgreSQL = 22
    Grpc = 23
    KafkaProducer = 40
    KafkaConsumer = 41
    Elasticsearch = 47
    RabbitmqProducer = 52
    RabbitmqConsumer = 53
    PulsarProducer = 73
    PulsarConsumer = 74
    HBase = 94
    Neo4j = 112
    General = 7000  # built-in modules that have no logo of their own in the UI
    Flask = 7001
    Requests = 7002
    PyMysql = 7003
    Django = 7004
    Tornado = 7005
    Urllib3 = 7006
    Sanic = 7007
    AioHttp = 7008
    Pyramid = 7009
    Psycopg = 7010
    Celery = 7011
    Falcon = 7012
    MysqlClient = 7013
    FastAPI = 7014
    Bottle = 7015
    AsyncPG = 7016
    AIORedis = 7017
    Websockets = 7018
    HTTPX = 7019


class Layer(enum.IntEnum):
    """Span layers (the proto's `SpanLayer`, without FAAS, as upstream)."""

    Unknown = 0
    Database = 1
    RPCFramework = 2
    Http = 3
    MQ = 4
    Cache = 5


class Kind(enum.IntEnum):
    """Span kinds. The numbering is upstream's, not the proto's: spans are encoded by name."""

    Local = 0
    Entry = 1
    Exit = 2

    @property
    def is_local(self) -> bool:
        return self is Kind.Local

    @property
    def is_entry(self) -> bool:
        return self is Kind.Entry

    @property
    def is_exit(self) -> bool:
        return self is Kind.Exit


LogItem = namedtuple('LogItem', 'key val')


class Log:
    """One span log: a timestamp (seconds since the epoch, float) and its key/value items.

    Upstream evaluates the default timestamp once, at import, so every span log carries the
    agent's import time. Here the default is taken when the log is made.
    """

    __slots__ = ('items', 'timestamp')

    def __init__(self, timestamp=None, items=None):
        self.timestamp = time.time() if timestamp is None else timestamp
        self.items = items or []

    def __repr__(self) -> str:
        return f'Log(timestamp={self.timestamp!r}, items={self.items!r})'
