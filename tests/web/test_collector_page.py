"""The collector's web page in a real headless Chromium, over real data: a consumer calling a
provider under `sw-python run` reports to the session's collector, then the page must show
the traces, the cross-service waterfall, span tags, the error's traceback, logs linked to
their trace, and create a profile task from its form.

Chromium and its driver come from Debian (`scripts/browser.sh` installs them)."""

from __future__ import annotations

import json
import shutil
import struct
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import free_port, http_get

SERVICES = Path(__file__).resolve().parent.parent / 'plugins' / 'flask' / 'services'
CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f'{", ".join(missing)} missing: run scripts/browser.sh')
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        f'--user-data-dir={tmp_path_factory.mktemp("chromium-profile")}',
        '--window-size=1440,1000',
    ):
        options.add_argument(flag)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


# ---------------------------------------------------------------- helpers


def wait(driver, condition, message: str, timeout: float = 20.0):
    """Polls `condition(driver)` until it is truthy; the page re-renders every few seconds,
    so an element found one moment may be replaced the next."""
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition, message)


def click(driver, css: str) -> None:
    """Clicks the first element matching `css` like a user would (scrolled into view)."""

    def attempt(d):
        found = d.find_elements(By.CSS_SELECTOR, css)
        if not found:
            return False
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", found[0])
        found[0].click()
        return True

    wait(driver, attempt, f'nothing to click at {css}')


def text_of(driver, css: str) -> str:
    return driver.execute_script('const e = document.querySelector(arguments[0]); return e ? e.innerText : "";', css)


def span_rows(driver) -> list[dict]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#waterfall .span-row')]"
        '.map((r) => ({...r.dataset, classes: r.className, text: r.innerText}));'
    )


def api(collector, path: str):
    status, body = collector.request('GET', path)
    assert status == 200, f'{path}: {status} {body}'
    return json.loads(body)


def wait_for_traces(collector, services, timeout: float = 30.0) -> dict[str, dict]:
    """The `/users` trace (2 consumer segments, 2 provider segments, 6 spans) and the `/error`
    trace (3 spans), once every segment of both has arrived."""
    deadline = time.monotonic() + timeout
    while True:
        traces = api(collector, '/api/traces?service=consumer')
        found = {t['endpoint']: t for t in traces}
        users, error = found.get('/users'), found.get('/error')
        if users and error and users['spanCount'] == 6 and error['spanCount'] == 3:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f'traces incomplete: {json.dumps(traces, indent=1)}\n{services.logs()}')
        time.sleep(0.3)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', f'{path} is not a PNG'
    width, height = struct.unpack('>II', data[16:24])
    assert width >= 1000 and height >= 600, f'{path} is {width}x{height}'
    # A blank or broken page compresses to a few kilobytes; this one has text and bars.
    assert len(data) > 40_000, f'{path} is only {len(data)} bytes'


def severe_console_messages(driver) -> list[str]:
    return [entry['message'] for entry in driver.get_log('browser') if entry['level'] == 'SEVERE']


# ---------------------------------------------------------------- tests


def test_page_shows_a_real_two_service_trace_its_error_logs_and_profile_tasks(browser, collector, services, tmp_path):
    provider_port, consumer_port = free_port(), free_port()
    services.start('provider', SERVICES / 'provider.py', provider_port)
    services.start('consumer', SERVICES / 'consumer.py', consumer_port, PROVIDER_PORT=str(provider_port))
    assert http_get(f'http://127.0.0.1:{consumer_port}/users')[0] == 200
    time.sleep(0.05)  # the error trace starts strictly later, so it is listed first
    assert http_get(f'http://127.0.0.1:{consumer_port}/error')[0] == 502
    traces = wait_for_traces(collector, services)
    users, error = traces['/users'], traces['/error']

    browser.get(f'{collector.http_url}/#/traces')
    check_trace_list(browser, users, error)
    check_waterfall(browser, users)
    browser.save_screenshot(str(tmp_path / 'waterfall.png'))
    check_error_trace(browser, error)
    browser.save_screenshot(str(tmp_path / 'error.png'))
    check_logs_link_to_their_trace(browser, collector, error)
    check_instances(browser)
    check_profile_task_form(browser, collector)
    browser.save_screenshot(str(tmp_path / 'profiling.png'))

    # The header counts what the collector received.
    received = browser.execute_script(
        'return document.querySelector(\'#stats [data-kind="segments"] .received\').textContent;'
    )
    assert int(received.replace(',', '')) >= 6

    # Back to the two-service trace, through a fresh load of its address: the picture a
    # person would look at.
    browser.get(f'{collector.http_url}/#/traces/{users["traceId"]}')
    wait(browser, lambda d: len(span_rows(d)) == 6, 'waterfall not shown after a reload')
    browser.save_screenshot(str(tmp_path / 'collector-page.png'))
    for picture in ('waterfall.png', 'error.png', 'profiling.png', 'collector-page.png'):
        assert_png(tmp_path / picture)
    assert severe_console_messages(browser) == []


def check_trace_list(browser, users: dict, error: dict) -> None:
    """Newest first, with endpoint, services, duration and an error marker."""
    users_css = f'.trace-row[data-trace-id="{users["traceId"]}"]'
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, users_css), 'no /users row')
    rows = browser.execute_script(
        "return [...document.querySelectorAll('.trace-row')].map((r) => ({...r.dataset, text: r.innerText,"
        " marked: !!r.querySelector('.err-mark')}));"
    )
    ids = [r['traceId'] for r in rows]
    assert ids.index(error['traceId']) < ids.index(users['traceId']), 'newest first'
    users_row = rows[ids.index(users['traceId'])]
    error_row = rows[ids.index(error['traceId'])]
    assert users_row['endpoint'] == '/users' and not users_row['marked']
    assert 'consumer' in users_row['text'] and 'provider' in users_row['text']
    assert f'{users["duration"]} ms' in users_row['text']
    assert error_row['marked'], 'the error trace carries the error marker'


def check_waterfall(browser, users: dict) -> None:
    """Every span of both services, nested by parent span and across segments by refs; a
    click on a span shows its tags."""
    click(browser, f'.trace-row[data-trace-id="{users["traceId"]}"]')
    wait(browser, lambda d: len(span_rows(d)) == 6, 'the waterfall does not show 6 spans')
    spans = span_rows(browser)
    by_key = {s['key']: s for s in spans}
    roots = [s for s in spans if not s['parentKey']]
    assert [(r['service'], r['type'], r['op'], r['depth']) for r in roots] == [('consumer', 'Entry', '/users', '0')]
    for span in spans:
        if span['parentKey']:
            assert int(span['depth']) == int(by_key[span['parentKey']]['depth']) + 1, span
    provider_entries = [s for s in spans if s['service'] == 'provider']
    assert len(provider_entries) == 2
    for entry in provider_entries:
        caller = by_key[entry['parentKey']]
        assert (entry['type'], caller['service'], caller['type']) == ('Entry', 'consumer', 'Exit'), (entry, caller)
    thread = [s for s in spans if s['op'] == '/test']
    assert len(thread) == 1 and thread[0]['parentKey'] == roots[0]['key'], 'the cross-thread segment nests'
    bars = browser.execute_script(
        "return [...document.querySelectorAll('#waterfall .wf-bar')].map((b) => [parseFloat(b.style.left),"
        ' parseFloat(b.style.width)]);'
    )
    assert len(bars) == 6 and all(0 <= left <= 100 and 0 < width <= 100.5 for left, width in bars), bars
    assert min(left for left, _ in bars) == 0, 'the root starts the time range'
    assert max(left + width for left, width in bars) > 99, 'bars are scaled to the trace time range'

    click(browser, f'#waterfall .span-row[data-key="{provider_entries[0]["key"]}"]')
    wait(browser, lambda d: 'provider-instance' in text_of(d, '#span-detail'), 'span detail not shown')
    detail = text_of(browser, '#span-detail')
    assert 'http.method' in detail and 'POST' in detail and 'Flask (7001)' in detail, detail
    assert 'CrossProcess' in detail and 'consumer' in detail, 'the ref to the caller is shown'


def check_error_trace(browser, error: dict) -> None:
    """Error spans are marked, and the traceback is shown as preformatted text."""
    click(browser, f'.trace-row[data-trace-id="{error["traceId"]}"]')
    wait(browser, lambda d: 'failed on purpose' in text_of(d, '#span-detail'), 'traceback not shown')
    traceback = text_of(browser, '#span-detail pre.stack')
    assert traceback.startswith('Traceback') and '\n' in traceback, traceback
    error_spans = [s for s in span_rows(browser) if s['error'] == 'true']
    assert {s['service'] for s in error_spans} == {'consumer', 'provider'}
    assert all('error' in s['classes'].split() for s in error_spans)


def check_logs_link_to_their_trace(browser, collector, error: dict) -> None:
    """A log links to its trace, and an open trace shows its logs. The log arrives over the
    agent HTTP protocol, tied to the provider's failing span."""
    segments = api(collector, f'/api/traces/{error["traceId"]}')['segments']
    provider_segment = next(s for s in segments if s['service'] == 'provider')
    record = {
        'timestamp': int(time.time() * 1000),
        'service': 'provider',
        'serviceInstance': 'provider-instance',
        'endpoint': '/error',
        'body': {'type': 'text', 'text': {'text': 'Exception on /error\nValueError: logged with its trace'}},
        'traceContext': {'traceId': error['traceId'], 'traceSegmentId': provider_segment['segmentId'], 'spanId': 0},
        'tags': {'data': [{'key': 'level', 'value': 'ERROR'}]},
    }
    assert collector.request('POST', '/v3/logs', json.dumps([record]).encode())[0] == 200
    click(browser, '#tabs a[data-view="logs"]')
    link = f'#log-list .log-entry[data-trace-id="{error["traceId"]}"] a.trace-link'
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, link), 'the log has no trace link')
    assert 'logged with its trace' in text_of(browser, '#log-list')
    click(browser, link)
    wait(browser, lambda d: 'logged with its trace' in text_of(d, '#trace-logs'), 'trace logs not shown')
    assert browser.current_url.endswith(f'#/traces/{error["traceId"]}')
    assert len(span_rows(browser)) == 3


def check_instances(browser) -> None:
    """Each service's instance, with the properties it reported and its last keepAlive."""
    click(browser, '#tabs a[data-view="instances"]')
    for name in ('consumer-instance', 'provider-instance'):
        row = f'#instances tr[data-instance="{name}"]'
        wait(
            browser, lambda d, row=row: d.find_elements(By.CSS_SELECTOR, f'{row} table.props'), f'{name}: no properties'
        )
        wait(browser, lambda d, row=row: 'ago' in text_of(d, f'{row} td:nth-child(3)'), f'{name}: no keepAlive')


def check_profile_task_form(browser, collector) -> None:
    """A task created through the form reaches the collector and is listed with its status."""
    click(browser, '#tabs a[data-view="profiling"]')
    service = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#task-form select[name="service"]'), 'no form')
    wait(browser, lambda d: 'provider' in [o.get_attribute('value') for o in Select(service).options], 'no services')
    Select(service).select_by_value('provider')
    browser.find_element(By.CSS_SELECTOR, '#task-form input[name="endpointName"]').send_keys('/users')
    threshold = browser.find_element(By.CSS_SELECTOR, '#task-form input[name="minDurationThreshold"]')
    threshold.clear()
    threshold.send_keys('50')
    click(browser, '#task-form button[type="submit"]')
    wait(browser, lambda d: 'created' in text_of(d, '#task-message'), 'task not created')
    tasks = api(collector, '/api/profile/tasks')
    task = next(t for t in tasks if t['service'] == 'provider' and t['endpointName'] == '/users')
    settings = (task['minDurationThreshold'], task['dumpPeriod'], task['maxSamplingCount'], task['duration'])
    assert settings == (50, 10, 5, 5), 'the threshold typed, the form defaults for the rest'
    assert abs(task['startTime'] - time.time() * 1000) < 60_000, 'start defaults to now'
    task_row = f'#task-list .task[data-task-id="{task["id"]}"]'
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, task_row), 'task not listed')
    listed = text_of(browser, task_row)
    assert '/users' in listed and 'provider' in listed and '0 snapshots' in listed, listed
    assert browser.find_element(By.CSS_SELECTOR, task_row).get_attribute('data-status') == 'running'
    wait(browser, lambda d: 'No snapshots yet' in text_of(d, '#analysis'), 'analysis panel not shown')


def test_page_shows_hostile_names_as_text(browser, collector):
    """Operation names, tags and logs come from the network: markup in them stays text."""
    collector.reset()
    now = int(time.time() * 1000)
    hostile = '<img src=x onerror="window.pwned=1">'
    segment = {
        'traceId': 'hostile-trace',
        'traceSegmentId': 'hostile-segment',
        'service': '<b>svc</b>',
        'serviceInstance': 'inst',
        'spans': [
            {
                'spanId': 0,
                'parentSpanId': -1,
                'startTime': now - 20,
                'endTime': now,
                'operationName': hostile,
                'spanType': 'Entry',
                'spanLayer': 'Http',
                'componentId': 7000,
                'isError': True,
                'tags': [{'key': 'x', 'value': '<script>window.pwned=2</script>'}],
                'logs': [{'time': now, 'data': [{'key': 'message', 'value': '<svg onload="window.pwned=3">'}]}],
            }
        ],
    }
    assert collector.request('POST', '/v3/segment', json.dumps(segment).encode())[0] == 200

    browser.get(f'{collector.http_url}/#/traces/hostile-trace')
    wait(browser, lambda d: len(span_rows(d)) == 1, 'hostile trace not shown')
    wait(browser, lambda d: 'window.pwned=3' in text_of(d, '#span-detail'), 'span detail not shown')
    assert text_of(browser, '#waterfall .span-row .op') == hostile
    assert '<script>window.pwned=2</script>' in text_of(browser, '#span-detail')
    assert text_of(browser, '.trace-row .endpoint') == hostile
    assert browser.execute_script(
        "return [window.pwned, document.querySelectorAll('#view :is(img, script, b, svg[onload])').length];"
    ) == [None, 0]
    assert severe_console_messages(browser) == []
