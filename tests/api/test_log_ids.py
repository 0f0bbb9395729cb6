"""Trace ids on the application's own log records: set before its handlers and filters run,
readable by any formatter (`%(tid)s`, `%(sw_trace_id)s`, a JSON formatter reading the record's
attributes) and, for libraries outside `logging`, through `skywalking.log`."""

from __future__ import annotations

import json
import logging

from skywalking import log as sw_log
from skywalking.trace.context import get_context


class JsonFormatter(logging.Formatter):
    """What python-json-logger and structlog's ProcessorFormatter do: read record attributes."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                'message': record.getMessage(),
                'trace_id': record.sw_trace_id,
                'segment_id': record.sw_segment_id,
                'span_id': record.sw_span_id,
            }
        )


class Capture(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def make_logger(name: str, formatter: logging.Formatter) -> tuple[logging.Logger, Capture]:
    logger = logging.getLogger(name)
    logger.propagate = False
    capture = Capture(formatter)
    logger.addHandler(capture)
    return logger, capture


def test_ids_in_percent_format_and_json(started_agent):
    text_logger, text = make_logger('ids.text', logging.Formatter('[%(tid)s] %(message)s'))
    json_logger, js = make_logger('ids.json', JsonFormatter())
    outer = get_context().new_entry_span('/ids')
    with outer:
        with get_context().new_local_span('inner') as inner:
            text_logger.warning('inside')
            json_logger.warning('inside')
            ids = sw_log.trace_ids()
        segment = get_context().segment
    text_logger.warning('outside')
    json_logger.warning('outside')

    trace_id = segment.related_traces[0]
    assert text.lines == [f'[{trace_id}] inside', '[N/A] outside']
    assert [json.loads(line) for line in js.lines] == [
        {'message': 'inside', 'trace_id': trace_id, 'segment_id': segment.segment_id, 'span_id': inner.sid},
        {'message': 'outside', 'trace_id': '', 'segment_id': '', 'span_id': -1},
    ]
    assert ids == (trace_id, segment.segment_id, inner.sid)
    assert sw_log.trace_ids() is None


def test_filters_see_the_ids(started_agent):
    seen = []
    logger, _ = make_logger('ids.filter', logging.Formatter('%(message)s'))
    logger.addFilter(lambda record: seen.append(record.sw_trace_id) or True)
    with get_context().new_entry_span('/filter'):
        logger.warning('x')
        trace_id = get_context().segment.related_traces[0]
    # The reporter asks the logger's filters again, after the handlers, as upstream does.
    assert seen and set(seen) == {trace_id}


def test_structlog_processor(started_agent):
    with get_context().new_entry_span('/structlog') as span:
        event = sw_log.structlog_processor(None, 'info', {'event': 'hello'})
    assert event['trace_id'] and event['span_id'] == span.sid
    assert sw_log.structlog_processor(None, 'info', {'event': 'bye'}) == {'event': 'bye'}
