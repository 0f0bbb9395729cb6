"""The legacy Falcon plugin (sw_falcon: hug 2.5/2.6 on Falcon 2's `falcon.API`): a hug consumer
calling a hug provider on wsgiref, a handler that raises, 404 and an ignored method, on the
hug version of `plugin_python`. Each request gives one entry span: sw_falcon_v3 stays out
under Falcon 2 (the expected data have one span per provider segment)."""

from pathlib import Path

from tests.plugins._web_pair import QUERY, consumer_calls_provider, handler_raises, ignored_method, not_found

HERE = Path(__file__).parent

test_consumer_calls_provider = consumer_calls_provider(HERE, 'hug.yml', query=QUERY)
test_handler_that_raises_is_an_error_span = handler_raises(HERE, 'hug_error.yml')
test_not_found_is_an_error_span = not_found(HERE, 7012)
test_ignored_method_is_not_traced = ignored_method(HERE)
