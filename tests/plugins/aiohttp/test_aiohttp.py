"""The aiohttp plugin (server side): an aiohttp consumer calling an aiohttp provider, a
handler that raises, 404, an ignored method and 50 concurrent requests, on the aiohttp
version of `plugin_python`."""

from pathlib import Path

from tests.plugins._web_pair import concurrent, consumer_calls_provider, handler_raises, ignored_method, not_found

HERE = Path(__file__).parent

test_consumer_calls_provider = consumer_calls_provider(HERE, 'aiohttp.yml')
test_handler_that_raises_is_an_error_span = handler_raises(HERE, 'aiohttp_error.yml')
test_not_found_is_an_error_span = not_found(HERE, 7008)
test_ignored_method_is_not_traced = ignored_method(HERE)
test_concurrent_requests_keep_their_own_segments = concurrent(HERE)
