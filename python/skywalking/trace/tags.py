"""Span tags: a key, a value (always a str) and whether a second tag with the key replaces it.

Keys are upstream's and are what SkyWalking's OAP analyses (``http.status_code``,
``db.statement``, ``mq.topic``, ...). Custom tags subclass `Tag` and set `key`::

    class TagTenant(Tag):
        key = 'tenant'

    span.tag(TagTenant(tenant_id))

Instances are built on every traced call, so the built-in classes use ``__slots__`` (no
per-instance dict). A user subclass without ``__slots__`` gets a dict as usual.
"""

from skywalking._core import TagBase as _TagBase
from skywalking._core import tag_text as _tag_text


class Tag(_TagBase):
    """Base class of all tags; `val` is coerced to str when the tag is made.

    The native `TagBase` constructor stores ``str(val)``, so making a tag runs no Python
    code. `__init__` is here for subclasses whose own ``__init__`` calls
    ``super().__init__(val)``; every other subclass gets ``object.__init__`` instead.
    """

    __slots__ = ()

    key: str = ''
    #: False for tags that may repeat on one span (each one is appended, not replaced).
    overridable: bool = True

    def __init__(self, val: object) -> None:
        self.val = _tag_text(val)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__init__ is Tag.__init__:
            # Known to CPython as object's own initializer, so the type's init slot calls C
            # directly: the constructor above already did `__init__`'s work.
            cls.__init__ = object.__init__  # type: ignore[misc]

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.key!r}={self.val!r})'


class TagHttpMethod(Tag):
    __slots__ = ()
    key = 'http.method'


class TagHttpURL(Tag):
    __slots__ = ()
    key = 'http.url'


class TagHttpStatusCode(Tag):
    __slots__ = ()
    key = 'http.status_code'


class TagHttpStatusMsg(Tag):
    __slots__ = ()
    key = 'http.status_msg'


class TagHttpParams(Tag):
    __slots__ = ()
    key = 'http.params'


class TagDbType(Tag):
    __slots__ = ()
    key = 'db.type'


class TagDbInstance(Tag):
    __slots__ = ()
    key = 'db.instance'


class TagDbStatement(Tag):
    __slots__ = ()
    key = 'db.statement'


class TagDbSqlParameters(Tag):
    __slots__ = ()
    key = 'db.sql.parameters'
    overridable = False


class TagCacheType(Tag):
    __slots__ = ()
    key = 'cache.type'


class TagCacheOp(Tag):
    __slots__ = ()
    key = 'cache.op'


class TagCacheCmd(Tag):
    __slots__ = ()
    key = 'cache.cmd'


class TagCacheKey(Tag):
    __slots__ = ()
    key = 'cache.key'


class TagMqBroker(Tag):
    __slots__ = ()
    key = 'mq.broker'


class TagMqTopic(Tag):
    __slots__ = ()
    key = 'mq.topic'


class TagMqQueue(Tag):
    __slots__ = ()
    key = 'mq.queue'


class TagCeleryParameters(Tag):
    __slots__ = ()
    key = 'celery.parameters'


class TagGrpcMethod(Tag):
    __slots__ = ()
    key = 'grpc.method'


class TagGrpcUrl(Tag):
    __slots__ = ()
    key = 'grpc.url'


class TagGrpcStatusCode(Tag):
    __slots__ = ()
    key = 'grpc.status_code'
