"""Clients against our servers (examples/simpleweb.lua, examples/simplewebsocket.lua):
curl, the `websockets` package, and raw sockets for every kind of bad input, each checked
for the status / close code its RFC names, for the connection being closed after it, and
for a new connection still being served.
Usage: clients.py <http port> <websocket port> <node log>.  Prints "ok <name>" or
"FAIL <name>: why" per test; exits 1 if any failed."""
import asyncio, base64, os, socket, struct, subprocess, sys, tempfile, time, traceback

import websockets

HTTP, WS, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
HTTPS, WSS = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (None, None)
failures = 0


def test(fn):
    global failures
    try:
        fn()
        print("ok", fn.__name__, flush=True)
    except Exception as e:
        failures += 1
        detail = traceback.format_exc().strip().splitlines()[-3:]
        print("FAIL %s: %s | %s" % (fn.__name__, e, " / ".join(detail)), flush=True)
    return fn


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def recv_until_close(s, limit=10.0):
    """Everything the server sends until it closes the connection (bounded in time)."""
    s.settimeout(limit)
    data = b""
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    else:
        raise AssertionError("connection not closed within %.0f s" % limit)
    return data


def read_response(s, buf=b""):
    """One HTTP response (content-length bodies only); returns status, headers, body, rest."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        check(chunk, "closed before a response")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        check(chunk, "closed inside a body")
        rest += chunk
    return status, headers, rest[:n], rest[n:]


def still_serves():
    s = connect(HTTP)
    s.sendall(b"GET /alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, _, body, _ = read_response(s)
    s.close()
    check(status == 200 and b"path: /alive" in body, "a new connection is not served")


def expect_status(raw, want, chunks=None):
    """Sends raw bytes; the answer must be status `want`, then the connection closes."""
    s = connect(HTTP)
    for piece in (chunks or [raw]):
        s.sendall(piece)
    data = recv_until_close(s)
    s.close()
    check(data.startswith(b"HTTP/1.1 "), "no response, got %r" % data[:80])
    status = int(data.split()[1])
    check(status == want, "status %d, want %d (%r)" % (status, want, data[:100]))
    still_serves()


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "20"] + list(args),
                       capture_output=True, timeout=30)
    check(r.returncode == 0, "curl exited %d: %s" % (r.returncode, r.stderr.decode()[:200]))
    return r.stdout, r.stderr


base = "http://127.0.0.1:%d" % HTTP

# ---------------------------------------------------------------- HTTP, good requests


@test
def curl_get():
    body, _ = curl(base + "/index?x=1&y=two")
    check(b"path: /index" in body and b"query: y= two" in body, body[:200])


@test
def curl_post():
    body, _ = curl("-d", "hello=world", base + "/post")
    check(body.endswith(b"-----body----\nhello=world"), body[-80:])


@test
def curl_keepalive_three_requests():
    _, err = curl("-v", base + "/a", base + "/b", base + "/c")
    check(err.count(b"< HTTP/1.1 200") == 3, "three 200s")
    check(b"Re-using existing connection" in err, "curl did not reuse the connection")


@test
def raw_keepalive_and_pipelining():
    s = connect(HTTP)
    rest = b""
    for i in range(3):
        s.sendall(b"GET /k%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
        status, _, body, rest = read_response(s, rest)
        check(status == 200 and (b"path: /k%d" % i) in body, "request %d" % i)
    # two requests in one write, then a POST with a body split across writes
    s.sendall(b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\n")
    for name in (b"/p1", b"/p2"):
        status, _, body, rest = read_response(s, rest)
        check(status == 200 and b"path: " + name in body, "pipelined " + name.decode())
    s.sendall(b"POST /split HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
    s.sendall(b"world")
    status, _, body, rest = read_response(s, rest)
    check(body.endswith(b"helloworld"), "split body")
    # an empty line before a request is ignored (RFC 9112 2.2)
    s.sendall(b"\r\nGET /after-crlf HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, body, rest = read_response(s, rest)
    check(status == 200 and b"path: /after-crlf" in body, "request after an empty line")
    s.sendall(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body, rest = read_response(s, rest)
    check(headers.get("connection") == "close", "connection: close answered")
    check(recv_until_close(s) == b"", "closed after connection: close")
    s.close()


@test
def http10_closes():
    s = connect(HTTP)
    s.sendall(b"GET /old HTTP/1.0\r\n\r\n")
    data = recv_until_close(s)
    check(data.startswith(b"HTTP/1.1 200") and b"path: /old" in data, data[:80])


@test
def curl_chunked_request_body():
    payload = os.urandom(3000).hex().encode()  # 6000 bytes
    with tempfile.NamedTemporaryFile() as f:
        f.write(payload)
        f.flush()
        body, _ = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + f.name,
                       base + "/chunked-upload")
    check(b"transfer-encoding = chunked" in body, "not chunked")
    check(body.endswith(payload), "body not echoed")


@test
def raw_chunked_with_extension_and_trailer():
    s = connect(HTTP)
    s.sendall(b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;name=v\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n")
    status, _, body, _ = read_response(s)
    s.close()
    check(status == 200 and body.endswith(b"hello world"), body[-40:])
    check(b"x-trailer = yes" in body, "trailer field")


@test
def curl_large_body():
    payload = os.urandom(400000).hex().encode()  # 800,000 bytes, under the 1 MiB limit
    with tempfile.NamedTemporaryFile() as f:
        f.write(payload)
        f.flush()
        body, _ = curl("--data-binary", "@" + f.name, base + "/large")
    check(body.endswith(payload), "large body not echoed (%d bytes back)" % len(body))


@test
def curl_chunked_reply():
    body, err = curl("-v", base + "/chunked?n=5")
    check(b"transfer-encoding: chunked" in err.lower(), "reply not chunked")
    check(body.count(b"chunk ") == 5 and body.endswith(b"chunk 5 of 5\n"), body)


# ---------------------------------------------------------------- HTTP, bad requests


@test
def bad_request_line():
    expect_status(b"THIS IS NOT HTTP\r\n\r\n", 400)


@test
def bad_request_line_spaces():
    expect_status(b"GET  /two-spaces HTTP/1.1\r\nHost: x\r\n\r\n", 400)


@test
def bad_http_version():
    expect_status(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)


@test
def missing_host():
    expect_status(b"GET / HTTP/1.1\r\n\r\n", 400)


@test
def two_hosts():
    expect_status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)


@test
def content_length_negative():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400)


@test
def content_length_not_a_number():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400)


@test
def content_length_two_disagree():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                  b"Content-Length: 4\r\n\r\nabcd", 400)


@test
def content_length_list_disagree():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd", 400)


@test
def content_length_and_transfer_encoding():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)


@test
def transfer_encoding_unknown():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501)


@test
def transfer_encoding_chunked_not_last():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400)


@test
def chunk_size_not_hex():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"zz\r\nhello\r\n0\r\n\r\n", 400)


@test
def chunk_data_without_crlf():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabcXY0\r\n\r\n", 400)


@test
def chunk_size_line_endless():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"1" * 5000, 400)


@test
def header_line_too_long():
    expect_status(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 431)


@test
def request_target_too_long():
    expect_status(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)


@test
def too_many_header_lines():
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(150))
    expect_status(b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n", 431)


@test
def header_space_before_colon():
    expect_status(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400)


@test
def header_obsolete_folding():
    expect_status(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", 400)


@test
def body_over_limit():
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413)


@test
def chunked_body_over_limit():
    chunk = b"%x\r\n" % 600000 + b"a" * 600000 + b"\r\n"
    expect_status(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                  413, [b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                        chunk, b"%x\r\n" % 600000])


@test
def stalled_request_408():
    s = connect(HTTP)
    t0 = time.time()
    s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n")  # and nothing more
    data = recv_until_close(s, 10)
    took = time.time() - t0
    s.close()
    check(data.startswith(b"HTTP/1.1 408"), "got %r" % data[:60])
    check(0.5 < took < 8, "408 after %.1f s (timeout is 1 s)" % took)
    still_serves()


@test
def stalled_body_408():
    s = connect(HTTP)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part")
    data = recv_until_close(s, 10)
    s.close()
    check(data.startswith(b"HTTP/1.1 408"), "got %r" % data[:60])
    still_serves()


@test
def log_names_bad_requests():
    with open(LOG, "rb") as f:
        log = f.read()
    for line in (b"bad request, 400", b"bad request, 413", b"bad request, 431",
                 b"bad request, 505", b"bad request, 501", b"not complete in"):
        check(line in log, "no %r in the node log" % line)


# ---------------------------------------------------------------- WebSocket, good use

wsurl = "ws://127.0.0.1:%d/test" % WS


def arun(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


@test
def ws_text_and_binary_echo():
    async def go():
        async with websockets.connect(wsurl) as ws:
            await ws.send("hello")
            check(await ws.recv() == "hello", "text")
            await ws.send("héllo wörld ✓")
            check(await ws.recv() == "héllo wörld ✓", "utf-8 text")
            data = bytes(range(256)) * 400  # 102,400 bytes
            await ws.send(data)
            got = await ws.recv()
            check(isinstance(got, bytes) and got == data, "binary")
    arun(go())


@test
def ws_ping_pong():
    async def go():
        async with websockets.connect(wsurl) as ws:
            latency = await asyncio.wait_for(await ws.ping(b"hi"), 5)
            check(latency >= 0, "pong")
            await ws.send("after ping")
            check(await ws.recv() == "after ping", "message after ping")
    arun(go())


@test
def ws_fragmented_message():
    async def go():
        async with websockets.connect(wsurl) as ws:
            await ws.send(["part one, ", "part two, ", "part three"])
            check(await ws.recv() == "part one, part two, part three", "text fragments")
            await ws.send([b"\x00\x01", b"\x02", b"\x03\x04"])
            check(await ws.recv() == b"\x00\x01\x02\x03\x04", "binary fragments")
    arun(go())


@test
def ws_client_close_code():
    async def go():
        ws = await websockets.connect(wsurl)
        await ws.close(4321, "client done")
        check(ws.close_code == 4321, "close code echoed: %s" % ws.close_code)
    arun(go())


@test
def ws_server_close_code():
    async def go():
        async with websockets.connect(wsurl) as ws:
            await ws.send("close-me")
            try:
                await ws.recv()
                raise AssertionError("no close")
            except websockets.ConnectionClosed as e:
                check(e.rcvd and e.rcvd.code == 4000 and e.rcvd.reason == "asked to close",
                      "close %s" % e.rcvd)
    arun(go())


# ---------------------------------------------------------------- WebSocket, bad frames


def ws_handshake(extra=b""):
    s = connect(WS)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n" + extra + b"\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        check(chunk, "closed in the handshake")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    check(head.startswith(b"HTTP/1.1 101"), head[:60])
    return s, rest


def frame(op, payload=b"", fin=True, mask=True, rsv=0, length=None):
    b1 = (0x80 if fin else 0) | rsv << 4 | op
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b1, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b1, m | 126, n)
    else:
        head = struct.pack("!BBQ", b1, m | 127, n)
    if mask:
        key = os.urandom(4)
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        head += key
    return head + payload


def read_frames(s, rest):
    """Frames the server sends until it closes the connection: [(op, payload)]."""
    data = rest + recv_until_close(s)
    frames = []
    while len(data) >= 2:
        op, n = data[0] & 0x0f, data[1] & 0x7f
        off = 2
        if n == 126:
            n, off = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, off = struct.unpack("!Q", data[2:10])[0], 10
        frames.append((op, data[off:off + n]))
        data = data[off + n:]
    return frames


def ws_still_serves():
    async def go():
        async with websockets.connect(wsurl) as ws:
            await ws.send("still here?")
            check(await ws.recv() == "still here?", "echo")
    arun(go())


def expect_close(frames_to_send, want):
    s, rest = ws_handshake()
    for f in frames_to_send:
        s.sendall(f)
    frames = read_frames(s, rest)
    s.close()
    closes = [p for op, p in frames if op == 8]
    check(closes, "no close frame (got %r)" % frames)
    code = struct.unpack("!H", closes[0][:2])[0] if len(closes[0]) >= 2 else None
    check(code == want, "close code %s, want %d" % (code, want))
    ws_still_serves()


@test
def ws_unmasked_client_frame():
    expect_close([frame(1, b"plain", mask=False)], 1002)


@test
def ws_rsv_bits():
    expect_close([frame(1, b"x", rsv=4)], 1002)


@test
def ws_reserved_opcode():
    expect_close([frame(3, b"x")], 1002)


@test
def ws_reserved_control_opcode():
    expect_close([frame(0xB, b"x")], 1002)


@test
def ws_fragmented_ping():
    expect_close([frame(9, b"x", fin=False)], 1002)


@test
def ws_long_ping():
    expect_close([frame(9, b"p" * 126)], 1002)


@test
def ws_continuation_without_start():
    expect_close([frame(0, b"orphan")], 1002)


@test
def ws_new_message_inside_fragmented_one():
    expect_close([frame(1, b"first", fin=False), frame(1, b"second")], 1002)


@test
def ws_frame_over_limit():
    # only the header of a 300,000-byte frame: over the 256 KiB default
    expect_close([frame(2, b"", length=300000)[:14]], 1009)


@test
def ws_message_over_limit():
    piece = b"a" * 100000
    expect_close([frame(2, piece, fin=False), frame(0, piece, fin=False),
                  frame(0, piece)], 1009)


@test
def ws_invalid_utf8_text():
    expect_close([frame(1, b"ok \xff\xfe bad")], 1007)


@test
def ws_invalid_utf8_fragmented_text():
    expect_close([frame(1, b"ok \xe2\x82", fin=False), frame(0, b"X")], 1007)


@test
def ws_invalid_utf8_close_reason():
    expect_close([frame(8, struct.pack("!H", 1000) + b"\xc0\xaf")], 1007)


@test
def ws_bad_close_code():
    expect_close([frame(8, struct.pack("!H", 999))], 1002)


@test
def ws_reserved_close_code_1005():
    expect_close([frame(8, struct.pack("!H", 1005))], 1002)


@test
def ws_close_one_byte_payload():
    expect_close([frame(8, b"\x03")], 1002)


@test
def ws_good_close_echoed():
    s, rest = ws_handshake()
    s.sendall(frame(8, struct.pack("!H", 1000) + b"bye"))
    frames = read_frames(s, rest)
    s.close()
    check(frames and frames[-1][0] == 8 and frames[-1][1][:2] == struct.pack("!H", 1000),
          "close 1000 echoed: %r" % frames)


@test
def ws_handshake_bad_key():
    s = connect(WS)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n")
    data = recv_until_close(s)
    s.close()
    check(data.startswith(b"HTTP/1.1 400"), data[:60])
    ws_still_serves()


@test
def ws_handshake_not_upgrade():
    s = connect(WS)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = recv_until_close(s)
    s.close()
    check(data.startswith(b"HTTP/1.1 426"), data[:60])


@test
def ws_stalled_handshake_408():
    s = connect(WS)
    t0 = time.time()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")  # and nothing more
    data = recv_until_close(s, 10)
    s.close()
    check(data.startswith(b"HTTP/1.1 408"), "got %r" % data[:60])
    check(0.5 < time.time() - t0 < 8, "408 after %.1f s" % (time.time() - t0))
    ws_still_serves()


@test
def ws_log_names_violations():
    with open(LOG, "rb") as f:
        log = f.read()
    for line in (b"unmasked frame from a client; closing with 1002",
                 b"text message is not valid UTF-8; closing with 1007",
                 b"over the limit of 262144; closing with 1009", b"no handshake in 1.0 s, 408"):
        check(line in log, "no %r in the node log" % line)


# ---------------------------------------------------------------- TLS (https, wss)

if HTTPS:
    @test
    def curl_https_keepalive():
        url = "https://127.0.0.1:%d" % HTTPS
        body, err = curl("-k", "-v", "-d", "secret", url + "/one", url + "/two")
        check(err.count(b"< HTTP/1.1 200") == 2, "two 200s over tls")
        check(b"Re-using existing connection" in err, "no reuse")
        check(body.count(b"-----body----\nsecret") == 2, body[-60:])

    @test
    def python_wss_client():
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

        async def go():
            async with websockets.connect("wss://127.0.0.1:%d/" % WSS, ssl=ctx) as ws:
                await ws.send("secure hello")
                check(await ws.recv() == "secure hello", "wss echo")
                await ws.send(["frag ", "over ", "tls"])
                check(await ws.recv() == "frag over tls", "wss fragments")
        arun(go())

sys.exit(1 if failures else 0)
