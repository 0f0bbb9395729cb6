"""The Falcon plugin (sw_falcon_v3, Falcon 3 and 4): a Falcon consumer calling a Falcon
provider on wsgiref, a responder that raises, 404 and an ignored method, on the Falcon
version of `plugin_python`."""

from pathlib import Path

from tests.plugins._web_pair import QUERY, consumer_calls_provider, handler_raises, ignored_method, not_found

HERE = Path(__file__).parent

test_consumer_calls_provider = consumer_calls_provider(HERE, 'falcon.yml', query=QUERY)
test_handler_that_raises_is_an_error_span = handler_raises(HERE, 'falcon_error.yml')
test_not_found_is_an_error_span = not_found(HERE, 7012)
test_ignored_method_is_not_traced = ignored_method(HERE)
