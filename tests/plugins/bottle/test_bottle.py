"""The Bottle plugin: a Bottle consumer (parameters collected) calling a Bottle provider, a
route that raises, 404 and an ignored method, on the Bottle version of `plugin_python`."""

from pathlib import Path

from tests.plugins._web_pair import QUERY, consumer_calls_provider, handler_raises, ignored_method, not_found

HERE = Path(__file__).parent

test_consumer_calls_provider = consumer_calls_provider(
    HERE, 'bottle.yml', query=QUERY, consumer_env={'SW_PLUGIN_BOTTLE_COLLECT_HTTP_PARAMS': 'True'}
)
test_handler_that_raises_is_an_error_span = handler_raises(HERE, 'bottle_error.yml')
test_not_found_is_an_error_span = not_found(HERE, 7015)
test_ignored_method_is_not_traced = ignored_method(HERE)
