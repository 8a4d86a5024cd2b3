#!/usr/bin/env python3
"""The socket suite: skynet.socket, skynet.dns and the console service on a real node,
against real Python clients and servers on loopback.

Each test starts ./skynet with a config written to tests/out/socket/, waits for log
lines (bounded), talks to the node over loopback and checks what comes back byte for
byte.  Nodes are stopped by PID (or end themselves with skynet.abort()).

Usage: python3 tests/socket/run.py [test name ...]
SOCKET_TEST_LUACLIB=<dir> runs the nodes on another build of luaclib (e.g. one built with
-fsanitize=address, the node started with libasan in LD_PRELOAD).
"""
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "out", "socket")
SKYNET = os.environ.get("SKYNET", "./skynet")
# another build of luaclib (SOCKET_TEST_LUACLIB), such as one with AddressSanitizer
LUACLIB = os.environ.get("SOCKET_TEST_LUACLIB", "./luaclib")
WAIT = float(os.environ.get("SOCKET_TEST_WAIT", "20"))	# seconds for any one wait


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


NODES = []	# every node started, stopped at the end whatever happens


class Node:
    """A skynet node running `start` with extra config keys; its log is collected."""

    def __init__(self, name, start, env=None, stdin=False, fatal=r"lua loader error|stack traceback"):
        env = dict(env or {})
        env.setdefault("snax", "tests/socket/?.lua")
        self.name = name
        self.fatal = re.compile(fatal) if fatal else None
        cfg = os.path.join(OUT, name + ".config")
        lines = [
            "thread = 2",
            "harbor = 0",
            'bootstrap = "snlua bootstrap"',
            'start = "%s"' % start,
            'cpath = "./cservice/?.so"',
            'lualoader = "./lualib/loader.lua"',
            'lua_path = "./lualib/?.lua;./lualib/?/init.lua"',
            'lua_cpath = "%s/?.so;./luaclib/?.so"' % LUACLIB,
            'luaservice = "tests/socket/?.lua;./service/?.lua"',
        ]
        for k, v in env.items():
            lines.append('%s = "%s"' % (k, v))
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.logpath = os.path.join(OUT, name + ".log")
        self.log = open(self.logpath, "w")
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [SKYNET, cfg], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        NODES.append(self)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.write(line + "\n")
            self.log.flush()
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)	# end of output
            self.cond.notify_all()

    def wait_for(self, pattern, timeout=WAIT, start=0):
        """The first match of `pattern` in the log (from line `start`), waiting for it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    if line is None:
                        raise Fail("node ended before %r; log tail:\n%s" % (pattern, self.tail()))
                    if self.fatal and self.fatal.search(line):
                        raise Fail("error in the log while waiting for %r:\n%s" % (pattern, self.tail()))
                    m = rx.search(line)
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Fail("no %r within %gs; log tail:\n%s" % (pattern, timeout, self.tail()))
                self.cond.wait(left)

    def has(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return any(l is not None and rx.search(l) for l in self.lines)

    def tail(self, n=25):
        return "\n".join(l for l in self.lines[-n:] if l is not None)

    def wait_exit(self, timeout=WAIT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("node did not end within %gs; log tail:\n%s" % (timeout, self.tail()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(5)
        self.log.close()

    def check_clean(self):
        """No Lua error in the log (a test that expects one checks it itself)."""
        with self.cond:
            bad = [l for l in self.lines if l and ("stack traceback" in l or "lua call" in l)]
        check(not bad, "errors in the node's log:\n" + self.tail())


def connect(port, timeout=WAIT):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise Fail("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_line(s):
    buf = bytearray()
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            raise Fail("peer closed in a line: %r" % bytes(buf))
        buf += c
    return bytes(buf[:-1])


def recv_all(s):
    buf = bytearray()
    while True:
        c = s.recv(1 << 16)
        if not c:
            return bytes(buf)
        buf += c


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# --------------------------------------------------------------------- the server node

SERVER = {}


def server():
    """The shared node running tests/socket/sk_server.lua, and its ports by name."""
    if "node" not in SERVER:
        node = Node("server", "sk_server")
        SERVER["node"] = node
        m = node.wait_for(r"PORTS (.*)")
        SERVER["ports"] = dict(kv.split("=") for kv in m.group(1).split())
        SERVER["ports"] = {k: int(v) for k, v in SERVER["ports"].items()}
    return SERVER["node"], SERVER["ports"]


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def tcp_echo_many_clients():
    """8 clients at once, payloads from 1 byte to 1 MiB in random pieces, echoed byte-exact."""
    node, ports = server()
    rng = random.Random(11)
    sizes = [1, 17, 4096, 65537, 300000, 1 << 20, 777, 123456]
    errors = []

    def client(size, seed):
        try:
            r = random.Random(seed)
            data = bytes(r.getrandbits(8) for _ in range(min(size, 4096))) * (size // 4096 + 1)
            data = data[:size]
            s = connect(ports["echo"])
            got = bytearray()

            def reader():
                while len(got) < size:
                    c = s.recv(1 << 16)
                    if not c:
                        break
                    got.extend(c)
            t = threading.Thread(target=reader)
            t.start()
            i = 0
            while i < size:
                n = r.randint(1, 70000)
                s.sendall(data[i:i + n])
                i += n
            t.join(WAIT)
            s.close()
            if bytes(got) != data:
                errors.append("size %d: got %d bytes, differ" % (size, len(got)))
        except Exception as e:	# noqa: BLE001 - reported below
            errors.append("size %d: %r" % (size, e))

    threads = [threading.Thread(target=client, args=(sz, rng.random())) for sz in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 2)
    check(not errors, "; ".join(errors))


@test
def readline_custom_separator():
    """socket.readline(id, "\\r\\n--"): separators split across packets, empty and 200 KB lines."""
    node, ports = server()
    s = connect(ports["line"])
    long = b"x" * 200000
    stream = b"hello\r\n--" + b"\r\n--" + b"a\rb\nc\r\n-d\r\n--" + long + b"\r\n--"
    # dribble it: 1..5 bytes at a time for the first part, the long line at once
    i = 0
    head = stream[:len(stream) - len(long) - 4]
    while i < len(head):
        n = random.randint(1, 5)
        s.sendall(head[i:i + n])
        i += n
    s.sendall(long + b"\r")
    s.sendall(b"\n")
    s.sendall(b"--")
    def answer():
        head = bytearray()
        while not head.endswith(b":"):
            head += recv_exact(s, 1)
        line = recv_exact(s, int(head[:-1]))
        check(recv_exact(s, 1) == b"\n", "answer end")
        return line
    check(answer() == b"hello", "line 1")
    check(answer() == b"", "empty line")
    check(answer() == b"a\rb\nc\r\n-d", "line with parts of the separator")
    check(answer() == long, "long line")
    # the peer closes with an unfinished line: readline returns false and the rest
    mark = len(node.lines)
    s.sendall(b"tail")
    s.shutdown(socket.SHUT_WR)
    node.wait_for(r"LINE closed rest=4$", start=mark)
    s.close()


@test
def read_exact_across_small_packets():
    """socket.read(id, n) for framed messages sent 1..7 bytes at a time; write and lwrite."""
    node, ports = server()
    s = connect(ports["frame"])
    rng = random.Random(5)
    bodies = [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))) for _ in range(60)]
    bodies.append(bytes(range(256)) * 1000)	# 256000 bytes: more than the pause threshold
    wire = b"".join(struct.pack(">I", len(b)) + b for b in bodies)

    def sender():
        i = 0
        while i < len(wire):
            n = rng.randint(1, 7) if i < 20000 else 65536
            s.sendall(wire[i:i + n])
            i += n
    t = threading.Thread(target=sender)
    t.start()
    for k, b in enumerate(bodies):
        (n,) = struct.unpack(">I", recv_exact(s, 4))
        check(n == len(b), "frame %d length %d, want %d" % (k, n, len(b)))
        check(recv_exact(s, n) == b, "frame %d body" % k)
    t.join(WAIT)
    # an incomplete frame, then the close: read returns false and what was left
    mark = len(node.lines)
    s.sendall(struct.pack(">I", 50) + b"only-ten!!")
    s.shutdown(socket.SHUT_WR)
    node.wait_for(r"FRAME short body rest=10$", start=mark)
    s.close()


@test
def read_exact_large():
    """socket.read(id, 300000) while the bytes come in many packets, then the rest."""
    node, ports = server()
    s = connect(ports["exact"])
    n = 300000
    data = bytes((i * 7) & 0xff for i in range(n - 1)) + b"\x2a"
    s.sendall(b"%d\n" % n)
    for i in range(0, n, 1000):
        s.sendall(data[i:i + 1000])
    check(recv_line(s) == b"300000 42", "exact read size and last byte")
    mark = len(node.lines)
    s.sendall(b"rest")
    s.shutdown(socket.SHUT_WR)
    node.wait_for(r"EXACT done rest$", start=mark)
    s.close()


@test
def readall_until_peer_closes():
    """socket.readall returns everything once the peer stops writing (half close)."""
    node, ports = server()
    s = connect(ports["all"])
    data = os.urandom(700000)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s)
    check(len(got) >= 4, "short answer")
    (n,) = struct.unpack(">I", got[:4])
    check(n == len(data) and got[4:] == data, "readall gave %d bytes, want %d" % (n, len(data)))
    s.close()


@test
def pause_backpressure():
    """socket.pause stops reading: the client's sends stall; a read resumes and all arrives."""
    node, ports = server()
    mark = len(node.lines)
    s = connect(ports["hold"])
    node.wait_for(r"HELD \d+$", start=mark)
    total = 32 << 20
    chunk = b"p" * 65536
    s.setblocking(False)
    sent = 0
    import select
    while sent < total:
        _, w, _ = select.select([], [s], [], 1.0)
        if not w:
            break	# nothing accepted for a second: the socket thread is not reading
        try:
            sent += s.send(chunk[:min(len(chunk), total - sent)])
        except BlockingIOError:
            continue
    check(sent < total, "all %d bytes went out although the socket was paused" % total)
    c = connect(ports["ctl"])
    c.sendall(b"resume\n")
    check(recv_line(c) == b"ok", "resume")
    s.setblocking(True)
    s.settimeout(WAIT)
    s.sendall(b"p" * (total - sent))
    s.shutdown(socket.SHUT_WR)
    node.wait_for(r"HELD total=%d$" % total, start=mark)
    check(node.has(r"Resume socket \(\d+\)"), "no 'Resume socket' line")
    s.close()
    c.close()


@test
def buffer_limit_closes():
    """socket.limit: more unread bytes than the limit close the connection; onclose runs."""
    node, ports = server()
    mark = len(node.lines)
    s = connect(ports["limit"])
    s.sendall(b"1")
    node.wait_for(r"LIMIT block=true$", start=mark)
    try:
        for _ in range(10):
            s.sendall(b"z" * 600)
    except OSError:
        pass
    node.wait_for(r"socket buffer overflow: fd=\d+ size=\d+", start=mark)
    node.wait_for(r"LIMIT onclose \d+$", start=mark)
    node.wait_for(r"LIMIT closed$", start=mark)
    s.settimeout(WAIT)
    try:
        rest = recv_all(s)
    except ConnectionResetError:
        rest = b""
    check(rest == b"", "data after the close: %r" % rest)
    s.close()


@test
def peer_reset_mid_read():
    """A peer that resets during socket.read(id, 1000000): false, then the node serves on."""
    node, ports = server()
    mark = len(node.lines)
    s = connect(ports["reset"])
    s.sendall(b"r" * 100)
    check(recv_line(s) == b"go", "go")
    s.sendall(b"partial")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()	# RST
    m = node.wait_for(r"RESET read=(\S+) rest=(\d+) disconnected=(\S+)", start=mark)
    check(m.group(1) == "false", "read after reset returned %s" % m.group(1))
    check(int(m.group(2)) <= 7, "rest %s" % m.group(2))
    check(m.group(3) == "true", "disconnected() after reset is %s" % m.group(3))
    node.wait_for(r'RESET again=false left=""', start=mark)
    node.wait_for(r"RESET invalid=true", start=mark)
    # still serving
    e = connect(ports["echo"])
    e.sendall(b"still here")
    check(recv_exact(e, 10) == b"still here", "echo after the reset")
    e.close()


def agent_connection(port_name):
    """A connection that sk_agent took over, past its greeting."""
    _, ports = server()
    s = connect(ports[port_name])
    hello = recv_line(s)
    check(hello.startswith(b"agent "), "greeting %r" % hello)
    return s


@test
def start_in_another_service():
    """An accepted id handed to a new service, which socket.start()s it (as testsocket does)."""
    s = agent_connection("agent")
    s.sendall(b"abc\ndef\n")
    check(recv_line(s) == b"ABC" and recv_line(s) == b"DEF", "agent lines")
    s.close()


@test
def wrapped_dispatch_sees_data():
    """A function put in front of skynet.socket's dispatch (skynet.dispatch) sees every data event."""
    s = agent_connection("wrapped")
    seen = 0
    for word in (b"one", b"two", b"three"):
        s.sendall(word + b"\n")
        count, _, echoed = recv_line(s).partition(b" ")
        check(echoed == word, "line %r came back as %r" % (word, echoed))
        check(int(count) > seen, "data events seen by the wrapper: %s after %d" % (count, seen))
        seen = int(count)
    s.close()


@test
def netstat_lists_sockets():
    """socket.netstat() lists the listening sockets and the connections."""
    node, ports = server()
    c = connect(ports["ctl"])
    c.sendall(b"netstat\n")
    line = recv_line(c)
    m = re.match(rb"netstat (\d+)$", line)
    check(m and int(m.group(1)) >= len(ports) + 1, "netstat answer %r" % line)
    c.close()


@test
def send_warning_callback():
    """socket.warning: 8 MiB written to a client that does not read raises WARNING events."""
    node, ports = server()
    mark = len(node.lines)
    s = connect(ports["flood"])
    node.wait_for(r"FLOOD written$", start=mark)
    m = node.wait_for(r"FLOOD warning id=(\S+) kbytes=(\d+)$", start=mark)
    check(m.group(1) == "true" and int(m.group(2)) >= 1024, m.group(0))
    got = recv_exact(s, 128 * 65536)
    check(got == b"f" * len(got), "flood bytes")
    s.sendall(b"thanks\n")
    node.wait_for(r"FLOOD ack=thanks$", start=mark)
    s.close()


@test
def abandon_and_transfer():
    """socket.abandon hands a started connection to another service, which starts it again."""
    node, ports = server()
    mark = len(node.lines)
    s = connect(ports["handoff"])
    s.sendall(b"first\n")
    node.wait_for(r"HANDOFF first=first invalid=true$", start=mark)
    hello = recv_line(s)
    check(hello.startswith(b"agent "), "greeting %r" % hello)
    s.sendall(b"xyz\n")
    check(recv_line(s) == b"XYZ", "agent answer")
    s.close()


@test
def close_while_reading():
    """socket.close from one task while another is blocked in socket.read."""
    node, ports = server()
    mark = len(node.lines)
    s = connect(ports["closer"])
    node.wait_for(r"CLOSER reading$", start=mark)
    c = connect(ports["ctl"])
    c.sendall(b"close\n")
    check(recv_line(c) == b"closed", "close answer")
    node.wait_for(r'CLOSER reader=false rest=""$', start=mark)
    node.wait_for(r"CLOSER closed invalid=true$", start=mark)
    s.settimeout(WAIT)
    check(recv_all(s) == b"", "bytes after close")
    s.close()
    c.close()


@test
def shutdown_and_close_fd():
    """socket.shutdown ends a connection at once (read: false); close_fd closes an unstarted id."""
    node, ports = server()
    mark = len(node.lines)
    s = connect(ports["shut"])
    s.sendall(b"before\n")
    try:
        rest = recv_all(s)
    except ConnectionResetError:
        rest = b""
    check(rest == b"", "bytes after shutdown: %r" % rest)
    node.wait_for(r"SHUT line=before read=false invalid=false$", start=mark)
    node.wait_for(r"SHUT closed invalid=true$", start=mark)
    r = connect(ports["reject"])
    node.wait_for(r"REJECT 127\.0\.0\.1:\d+$", start=mark)
    try:
        rest = recv_all(r)
    except ConnectionResetError:
        rest = b""
    check(rest == b"", "bytes from a rejected connection: %r" % rest)
    r.close()
    s.close()


def stop_server():
    node = SERVER.get("node")
    if node is None:
        return
    try:
        c = connect(SERVER["ports"]["ctl"], timeout=5)
        c.sendall(b"exit\n")
        c.settimeout(5)
        try:
            recv_line(c)
        except (OSError, Fail):
            pass
        c.close()
        node.proc.wait(10)
    except (OSError, subprocess.TimeoutExpired):
        pass
    node.stop()
    SERVER.clear()


# --------------------------------------------------------------------- skynet as a client


@test
def tcp_client_to_python_server():
    """socket.open to a Python server: write, readline, the peer closes: read gives false + rest."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(WAIT)
    port = srv.getsockname()[1]
    closed = free_port()
    node = Node("client", "sk_client", {"sk_case": "tcp", "sk_port": port, "sk_port2": closed})
    try:
        a, _ = srv.accept()
        a.settimeout(WAIT)
        check(recv_line(a) == b"hello", "hello from skynet")
        a.sendall(b"welcome\n")
        node.wait_for(r"CLIENT line=welcome$")
        a.sendall(b"tail-bytes")
        a.close()
        node.wait_for(r"CLIENT read=false rest=tail-bytes$")
        node.wait_for(r"CLIENT disconnected=true$")
        node.wait_for(r"CLIENT invalid=true$")
        b, _ = srv.accept()
        b.sendall(b"x" * 5000)
        b.close()
        node.wait_for(r"CLIENT readall=x{5000}$")
        node.wait_for(r"CLIENT readall again=false$")
        m = node.wait_for(r"CLIENT refused id=(\S+) err=(.*)$")
        check(m.group(1) == "nil" and m.group(2) != "nil", "refused connect: %s" % m.group(0))
        node.wait_for(r"CLIENT start invalid=nil err=\S+")
        v6 = int(node.wait_for(r"CLIENT v6 listen ::1 (\d+)$").group(1))
        c6 = socket.create_connection(("::1", v6), timeout=WAIT)
        c6.sendall(b"six\n")
        check(recv_line(c6) == b"v6:six", "IPv6 echo")
        c6.close()
        node.wait_for(r"CLIENT resolve=127\.0\.0\.1(,127\.0\.0\.1)*$")
        node.wait_for(r"CLIENT done")
        check(node.wait_exit() == 0, "node exit code")
        node.check_clean()
    finally:
        node.stop()
        srv.close()


@test
def udp_both_ways():
    """UDP: udp + udp_connect + write, sendto from the callback's address, udp_listen, udp_dial."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    srv.settimeout(WAIT)
    port = srv.getsockname()[1]
    lport = free_port(socket.SOCK_DGRAM)
    stop = threading.Event()

    def echo():
        while not stop.is_set():
            try:
                data, addr = srv.recvfrom(65536)
            except OSError:
                return
            srv.sendto(b"echo:" + data[:20], addr)
    t = threading.Thread(target=echo, daemon=True)
    t.start()
    node = Node("udp", "sk_client", {"sk_case": "udp", "sk_port": port, "sk_port2": lport})
    try:
        node.wait_for(r"UDP got echo:ping from 127\.0\.0\.1:%d$" % port)
        node.wait_for(r"UDP got echo:again from 127\.0\.0\.1:%d$" % port)
        node.wait_for(r"UDP dial got echo:dial$")
        node.wait_for(r"UDP dial got echo:u{20}$")
        node.wait_for(r"UDP listening")
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(WAIT)
        c.sendto(b"hi", ("127.0.0.1", lport))
        data, addr = c.recvfrom(100)
        check(data == b"re:hi" and addr == ("127.0.0.1", lport), "udp_listen answer %r %r" % (data, addr))
        node.wait_for(r"UDP listen got hi$")
        c.sendto(b"closeudp", ("127.0.0.1", lport))
        node.wait_for(r"UDP closed invalid=true$")
        c.close()
        node.check_clean()
    finally:
        stop.set()
        srv.close()
        node.stop()


# --------------------------------------------------------------------- dns

class DnsServer:
    """A tiny DNS server on loopback UDP: fixed answers, counts the questions by name."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.count = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def name_at(msg, pos):
        labels = []
        while msg[pos]:
            n = msg[pos]
            labels.append(msg[pos + 1:pos + 1 + n].decode())
            pos += 1 + n
        return ".".join(labels), pos + 1

    @staticmethod
    def rr(name_ptr, rtype, ttl, rdata):
        return name_ptr + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata

    def answer(self, msg):
        tid, flags, qd = struct.unpack(">HHH", msg[:6])
        name, pos = self.name_at(msg, 12)
        qtype, qclass = struct.unpack(">HH", msg[pos:pos + 4])
        question = msg[12:pos + 4]
        key = "%s/%d" % (name.lower(), qtype)
        self.count[key] = self.count.get(key, 0) + 1
        ptr = struct.pack(">H", 0xc00c)	# the question's name
        answers = []
        rcode = 0
        lname = name.lower()
        if lname == "svc.test" and qtype == 1:
            answers = [self.rr(ptr, 1, 300, bytes([127, 0, 0, 42])),
                       self.rr(ptr, 1, 60, bytes([127, 0, 0, 43]))]
        elif lname == "v6.test" and qtype == 28:
            answers = [self.rr(ptr, 28, 300, bytes.fromhex("20010db8000000000000000000000005"))]
        elif lname == "short.test" and qtype == 1:
            answers = [self.rr(ptr, 1, 0, bytes([127, 0, 0, 7]))]
        elif lname == "alias.cname.test" and qtype == 1:
            # a CNAME first (its target written out), then the address of the target
            target = b"\x06target\x04test\x00"
            cname = ptr + struct.pack(">HHIH", 5, 1, 300, len(target)) + target
            tptr = struct.pack(">H", 0xc000 | (12 + len(question) + 12))	# the CNAME's rdata
            answers = [cname, self.rr(tptr, 1, 300, bytes([127, 0, 0, 8]))]
        elif lname == "broken.test":
            # a header that claims two questions, and garbage
            return struct.pack(">HHHHHH", tid, 0x8180, 2, 1, 0, 0) + b"\xff\xff\xff"
        else:
            rcode = 3	# NXDOMAIN
        head = struct.pack(">HHHHHH", tid, 0x8180 | rcode, 1, len(answers), 0, 0)
        return head + question + b"".join(answers)

    def serve(self):
        while not self.stop.is_set():
            try:
                msg, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self.answer(msg), addr)
            except Exception:	# noqa: BLE001 - a bad query gets no answer
                traceback.print_exc()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@test
def dns_resolve():
    """skynet.dns against a Python DNS server: A, AAAA, cache, TTL 0, NXDOMAIN, hosts file,
    CNAME chain, a malformed answer (fails at once), flush."""
    dnss = DnsServer()
    hosts = os.path.join(OUT, "hosts")
    with open(hosts, "w") as f:
        f.write("# test hosts\n127.0.0.9  myhost.test alias.test  # comment\n"
                "::9 alias.test\n\n127.0.0.10 myhost.test\n")
    node = Node("dns", "sk_client", {"sk_case": "dns", "sk_port": dnss.port, "sk_hosts": hosts})
    try:
        node.wait_for(r"DNS done", timeout=WAIT)
        expect = [
            r"DNS a 127\.0\.0\.42 \[127\.0\.0\.42,127\.0\.0\.43\]$",
            r"DNS cached 127\.0\.0\.42 \[127\.0\.0\.42,127\.0\.0\.43\]$",
            r"DNS aaaa 2001:db8:0:0:0:0:0:5 \[2001:db8:0:0:0:0:0:5\]$",
            r"DNS nx error .*timeout or no answer",
            r"DNS hosts 127\.0\.0\.9 \[127\.0\.0\.9,127\.0\.0\.10\]$",
            r"DNS hosts6 ::9 \[::9\]$",
            r"DNS illegal nil illegal name$",
            r"DNS literal 127\.0\.0\.1 nil$",
            r"DNS short1 127\.0\.0\.7 \[127\.0\.0\.7\]$",
            r"DNS short2 127\.0\.0\.7 \[127\.0\.0\.7\]$",
            r"DNS broken error .*timeout or no answer",
            r"dns: malformed response",
            r"DNS cname 127\.0\.0\.8 \[127\.0\.0\.8\]$",
            r"DNS flushed 127\.0\.0\.42 ",
            r"Udp server open 127\.0\.0\.1:%d" % dnss.port,
        ]
        for e in expect:
            node.wait_for(e, timeout=1)
        took = int(node.wait_for(r"DNS broken took (\d+)").group(1))
        check(took < 500, "a malformed answer took %d cs to fail" % took)
        c = dnss.count
        check(c.get("svc.test/1") == 2, "svc.test asked %s times (cache, then flush)" % c.get("svc.test/1"))
        check(c.get("short.test/1") == 2, "short.test (TTL 0) asked %s times" % c.get("short.test/1"))
        check("myhost.test/1" not in c and "alias.test/28" not in c, "hosts names were asked")
        check(node.wait_exit() == 0, "node exit code")
    finally:
        node.stop()
        dnss.close()


# --------------------------------------------------------------------- console


@test
def console_launches_from_stdin():
    """The console service reads stdin lines and launches each named service."""
    node = Node("console", "sk_console_boot", stdin=True, fatal=None)
    try:
        node.wait_for(r"BOOT ready")
        node.proc.stdin.write(b"\n   \nno_such_service_xyz\n")
        node.proc.stdin.flush()
        node.wait_for(r"no_such_service_xyz")
        node.proc.stdin.write(b"snax sk_snaxhello s1 s2\r\n")
        node.proc.stdin.flush()
        node.wait_for(r"SNAX HELLO s1 s2$")
        node.proc.stdin.write(b"sk_hello one two\n")
        node.proc.stdin.flush()
        node.wait_for(r"HELLO one two$")
        check(node.wait_exit() == 0, "node exit code")
    finally:
        node.stop()


def stop_all(*_):
    for node in NODES:
        if node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait(5)
    if _:
        sys.exit(1)


def main():
    signal.signal(signal.SIGTERM, stop_all)
    os.makedirs(OUT, exist_ok=True)
    os.chdir(ROOT)
    names = sys.argv[1:]
    chosen = [t for t in TESTS if not names or t.__name__ in names]
    passed = failed = 0
    for t in chosen:
        start = time.monotonic()
        try:
            t()
            print("ok   %s (%.1fs)" % (t.__name__, time.monotonic() - start), flush=True)
            passed += 1
        except Exception as e:	# noqa: BLE001 - every failure is reported
            msg = str(e) if isinstance(e, Fail) else traceback.format_exc()
            print("FAIL %s (%.1fs): %s" % (t.__name__, time.monotonic() - start, msg), flush=True)
            failed += 1
    # the shared server node: it must have logged no Lua error, then it ends itself
    if SERVER:
        node = SERVER["node"]
        try:
            node.check_clean()
            print("ok   server_log_clean", flush=True)
            passed += 1
        except Fail as e:
            print("FAIL server_log_clean: %s" % e, flush=True)
            failed += 1
        stop_server()
    print("socket: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        stop_all()
    sys.exit(rc)
