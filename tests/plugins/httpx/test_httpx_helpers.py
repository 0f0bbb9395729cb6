"""sw_httpx's shortcuts around httpx's own API, checked against that API in the scenario's
httpx version: the remembered URL text is ``str(request.url)`` for every URL, the trace
headers appended to the header list read back as ``headers[name] = value`` would, and
cookie extraction runs without them and finds them back in place afterwards."""

import subprocess
import textwrap

CHECK = textwrap.dedent(
    """
    import httpx
    from skywalking.plugins import sw_httpx

    URLS = [
        'http://127.0.0.1:8080/downstream',
        'http://127.0.0.1:8080/downstream?a=1',
        'http://127.0.0.1:8080/downstream?a=2#frag',
        'http://user:secret@example.com/p',
        'https://example.com/p',
        'https://example.com:8443/p',
        'http://[::1]:9000/v6',
        'http://b\\u00fccher.example/\\u00e4?q=\\u00fc',
        'http://example.com',
        'http://example.com/a%20b',
        'http://example.com/a b',
    ]
    for _ in range(2):  # the second time from what was remembered
        for url in URLS:
            parsed = httpx.URL(url)
            assert sw_httpx._url_text(parsed) == str(parsed), (url, sw_httpx._url_text(parsed))
    assert len(sw_httpx._URLS) == len({tuple(httpx.URL(url)._uri_reference) for url in URLS})

    for i in range(sw_httpx._URLS_MAX + 10):  # bounded
        parsed = httpx.URL(f'http://h/{i}')
        assert sw_httpx._url_text(parsed) == f'http://h/{i}'
    assert len(sw_httpx._URLS) <= sw_httpx._URLS_MAX

    request = httpx.Request('GET', 'http://h/', headers={'X-A': '1'})
    sw_httpx._put_headers(request.headers, [('sw8', 'one'), ('sw8-correlation', 'two')])
    assert request.headers['sw8'] == 'one' and request.headers['sw8-correlation'] == 'two'
    assert request.headers.raw[-2:] == [(b'sw8', b'one'), (b'sw8-correlation', b'two')]
    sw_httpx._put_headers(request.headers, [('sw8', 'three')])  # already there: replaced, once
    assert request.headers.get_list('sw8') == ['three'], request.headers

    seen = []

    def extract(this, response):
        seen.append([key for key, _ in response.request.headers.raw])
        if len(seen) == 2:
            raise RuntimeError('jar failed')
        return httpx.Cookies.extract_cookies(this, response)  # not patched in this process

    wrapped = sw_httpx._wrap_extract_cookies(extract)
    headers = list(request.headers.raw)
    others = [key for key, _ in headers if key not in (b'sw8', b'sw8-correlation')]
    assert len(others) == len(headers) - 2
    response = httpx.Response(200, headers={'Set-Cookie': 'k=v; Path=/'}, request=request)
    cookies = httpx.Cookies()
    wrapped(cookies, response)
    assert seen[-1] == others, seen
    assert list(request.headers.raw) == headers, request.headers.raw
    assert cookies.get('k') == 'v', cookies
    try:
        wrapped(cookies, response)
    except RuntimeError:
        pass
    assert seen[-1] == others and list(request.headers.raw) == headers, request.headers.raw
    plain = httpx.Request('GET', 'http://h/', headers={'X-A': '1'})
    wrapped(cookies, httpx.Response(200, request=plain))
    assert seen[-1] == others and len(seen) == 3
    print('ok')
    """
)


def test_url_text_and_header_shortcuts_match_httpx(plugin_python):
    done = subprocess.run([plugin_python, '-c', CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == 'ok', done.stderr
