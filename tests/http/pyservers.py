"""Servers the Lua side of the http suite talks to, on loopback ports picked by the kernel:
  echo   a `websockets` server: echoes; "fragment-me" is answered in three fragments,
         "close-4001" with a close frame of code 4001
  bad    a raw WebSocket server that answers the handshake, then sends a frame with RSV1 set
         (a masked frame for the path /masked)
  stall  accepts TCP connections and never answers
  wss    (with argv[2], argv[3]: certificate and key files) the echo server over TLS
Writes {"echo": port, "bad": port, "stall": port, "wss": port} to the file named by argv[1],
then serves until killed."""
import asyncio, base64, hashlib, json, os, socket, ssl, sys

import websockets

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


async def echo(ws):
    try:
        async for msg in ws:
            if msg == "fragment-me":
                await ws.send(["frag-a;", "frag-b;", "frag-c"])
            elif msg == "close-4001":
                await ws.close(4001, "bye from python")
                return
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def bad(reader, writer):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await reader.read(4096)
        if not chunk:
            writer.close()
            return
        head += chunk
    key = ""
    for line in head.decode().split("\r\n"):
        if line.lower().startswith("sec-websocket-key:"):
            key = line.split(":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
    if head.startswith(b"GET /masked "):
        writer.write(b"\x81\x82\x01\x02\x03\x04" + bytes([ord("h") ^ 1, ord("i") ^ 2]))
    else:
        writer.write(b"\xc1\x02hi")  # FIN + RSV1 + text, unmasked
    await writer.drain()
    try:
        await asyncio.wait_for(reader.read(4096), 10)
    except Exception:
        pass
    writer.close()


async def stall(reader, writer):
    try:
        await asyncio.wait_for(reader.read(1 << 20), 30)
        await asyncio.sleep(30)
    except Exception:
        pass
    writer.close()


async def main():
    e = await websockets.serve(echo, "127.0.0.1", 0)
    b = await asyncio.start_server(bad, "127.0.0.1", 0)
    s = await asyncio.start_server(stall, "127.0.0.1", 0)
    wss = None
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        wss = await websockets.serve(echo, "127.0.0.1", 0, ssl=ctx)
    ports = {
        "echo": e.sockets[0].getsockname()[1],
        "bad": b.sockets[0].getsockname()[1],
        "stall": s.sockets[0].getsockname()[1],
        "wss": wss.sockets[0].getsockname()[1] if wss else 0,
    }
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.rename(tmp, sys.argv[1])
    await asyncio.Future()


asyncio.run(main())
