"""A page on another origin, in a real headless Chromium, tries what any web site a developer
visits could try against a collector left running: switch an agent off through the dynamic
configuration, create a profile task, inject segments, reset the store, by fetch() and by a
form, and read the collector's data under a host name of its own (DNS rebinding). The
collector must refuse all of it, and say so in its log."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.collector.harness import start, stop

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'

ATTACK = """<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="reset" method="POST" action="{collector}/reset" target="sink"><input name="a" value="b"></form>
<script>
const c = '{collector}';
const plain = (path, body) => fetch(c + path, {{method: 'POST', mode: 'no-cors', body,
  headers: {{'Content-Type': 'text/plain'}}}}).catch(() => null);
const json = (path, body) => fetch(c + path, {{method: 'POST', body,
  headers: {{'Content-Type': 'application/json'}}}}).catch(() => null);
const config = JSON.stringify({{service: 'victim', configurations: {{'agent.active': 'false'}}}});
const task = JSON.stringify({{service: 'victim', endpointName: '/x'}});
const segments = JSON.stringify([{{traceId: 't', traceSegmentId: 's', service: 'victim',
  serviceInstance: 'i', spans: [{{operationName: '/injected', spanId: 0, parentSpanId: -1}}]}}]);
Promise.all([
  plain('/api/configurations', config), plain('/api/profile/tasks', task), plain('/v3/segments', segments),
  json('/api/configurations', config), json('/api/profile/tasks', task),
  fetch(c + '/reset', {{method: 'POST', mode: 'no-cors'}}).catch(() => null),
]).then(() => {{ document.getElementById('reset').submit(); setTimeout(() => document.title = 'done', 1000); }});
</script></body></html>"""


@pytest.fixture
def driver(tmp_path: Path):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f'{", ".join(missing)} missing: run scripts/browser.sh')
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        f'--user-data-dir={tmp_path / "profile"}',
        # A name of the attacker's that resolves to the collector, as after DNS rebinding.
        '--host-resolver-rules=MAP rebind.test 127.0.0.1',
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


def serve_page(html: str) -> ThreadingHTTPServer:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_page_on_another_origin_changes_nothing(driver, tmp_path: Path):
    collector = start(tmp_path)
    page = serve_page(ATTACK.format(collector=f'http://{collector.host}'))
    try:
        driver.get(f'http://127.0.0.1:{page.server_address[1]}/')
        WebDriverWait(driver, 20).until(lambda d: d.title == 'done', 'the attack page did not finish')
        assert collector.request('GET', '/api/configurations') == (200, '[]')
        assert collector.request('GET', '/api/profile/tasks') == (200, '[]')
        stats = json.loads(collector.request('GET', '/api/stats')[1])
        assert stats['segments']['received'] == 0, stats
        assert stats['resets'] == 0, stats
        # The requests reached the collector and were refused (not merely blocked by the browser).
        log = collector.wait_log('HTTP POST /reset refused')
        for path in ('/api/configurations', '/api/profile/tasks', '/v3/segments'):
            assert f'HTTP POST {path} refused: POST from another site' in log, log
    finally:
        page.shutdown()
        stop(collector)


def test_a_rebound_host_name_cannot_read_the_collector(driver, tmp_path: Path):
    collector = start(tmp_path)
    try:
        collector.json_post(
            '/api/configurations', json.dumps({'service': 'secret-service', 'configurations': {'k': 'v'}}).encode()
        )
        driver.get(f'http://rebind.test:{collector.http_port}/api/configurations')
        text = driver.find_element(By.TAG_NAME, 'body').text
        assert 'is not an address of this collector' in text, text
        assert 'secret-service' not in text
        # Under its own address the same page reads fine.
        driver.get(f'http://{collector.host}/api/configurations')
        assert 'secret-service' in driver.find_element(By.TAG_NAME, 'body').text
    finally:
        stop(collector)
