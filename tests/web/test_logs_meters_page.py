"""The collector's web page shows a trace's logs with the trace, and an instance's meters as
plots over time, for a real service under `sw-python run` reporting logs and meters."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import free_port, http_get
from tests.web.test_collector_page import api, browser, severe_console_messages, text_of, wait  # noqa: F401

LOG_APP = Path(__file__).resolve().parent.parent / 'logs' / 'services' / 'log_app.py'


def wait_for(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f'no {what} within {timeout} s')
        time.sleep(0.3)


def test_trace_logs_and_instance_meter_plots(browser, collector, services):  # noqa: F811
    port = free_port()
    services.start('logsvc', LOG_APP, port, SW_AGENT_METER_REPORTER_PERIOD='1')
    assert http_get(f'http://127.0.0.1:{port}/inside')[0] == 200

    trace = wait_for(
        lambda: next((t for t in api(collector, '/api/traces?service=logsvc') if t['endpoint'] == '/inside'), None),
        'trace of /inside',
    )
    browser.get(f'{collector.http_url}/#/traces/{trace["traceId"]}')
    wait(browser, lambda d: 'inside span 1' in text_of(d, '#trace-logs'), 'the trace does not show its log')

    # Three reports of the runtime meters, one a second.
    def thread_series():
        series = api(collector, '/api/meters/series?service=logsvc&instance=logsvc-instance')
        found = [s for s in series if s['name'] == 'instance_pvm_thread_active_count']
        return found if found and len(found[0]['points']) >= 3 else None

    wait_for(thread_series, 'three meter reports')
    browser.get(f'{collector.http_url}/#/meters')
    # No live refresh: the plot must come from the collector's history, not from values the
    # page itself saw (it renders once, so it saw one).
    browser.execute_script("document.getElementById('live').checked = false;")
    row = '.instance-meters[data-instance="logsvc-instance"] tr.meter[data-name="instance_pvm_thread_active_count"]'
    wait(
        browser,
        lambda d: d.execute_script(
            'const r = document.querySelector(arguments[0]);'
            'return r && Number(r.dataset.points) >= 3 && r.querySelector("svg.spark polyline") !== null;',
            row,
        ),
        'no plot of the instance meter over time',
    )
    assert 'instance_pvm_process_cpu_utilization' in text_of(
        browser, '.instance-meters[data-instance="logsvc-instance"]'
    )
    assert not severe_console_messages(browser)
