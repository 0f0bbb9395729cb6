"""Provider: a minimal WebSocket server written on asyncio streams (no library, so it runs
with any websockets version): accepts the handshake on any path but /forbidden (403),
sends one text message, the `sw8` header it received (or '-'), and closes."""

import asyncio
import base64
import hashlib
import os

GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = (await reader.readuntil(b'\r\n\r\n')).decode('latin-1').split('\r\n')
    path = head[0].split(' ')[1]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(':') for line in head[1:] if line)}
    if path == '/forbidden':
        writer.write(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    else:
        accept = base64.b64encode(hashlib.sha1(headers['sec-websocket-key'].encode() + GUID).digest())
        writer.write(
            b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
            b'Sec-WebSocket-Accept: ' + accept + b'\r\n\r\n'
        )
        payload = headers.get('sw8', '-').encode()
        # One unmasked text frame (16-bit length form: an sw8 value is longer than 125 bytes).
        writer.write(bytes([0x81, 126]) + len(payload).to_bytes(2, 'big') + payload)
        writer.write(bytes([0x88, 2]) + (1000).to_bytes(2, 'big'))  # close, normal
    await writer.drain()
    try:
        await asyncio.wait_for(reader.read(), 2)  # until the client closes
    except Exception:
        pass
    writer.close()


async def main() -> None:
    server = await asyncio.start_server(serve, '127.0.0.1', int(os.environ['PORT']))
    async with server:
        await server.serve_forever()


asyncio.run(main())
