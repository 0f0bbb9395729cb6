"""The Pyramid plugin: a Pyramid consumer calling a Pyramid provider on wsgiref, a view that
raises (no exception view: it reaches the server), 404 and an ignored method, on the
Pyramid version of `plugin_python`."""

from pathlib import Path

from tests.plugins._web_pair import consumer_calls_provider, handler_raises, ignored_method, not_found

HERE = Path(__file__).parent

test_consumer_calls_provider = consumer_calls_provider(HERE, 'pyramid.yml')
test_handler_that_raises_is_an_error_span = handler_raises(HERE, 'pyramid_error.yml')
test_not_found_is_an_error_span = not_found(HERE, 7009)
test_ignored_method_is_not_traced = ignored_method(HERE)
