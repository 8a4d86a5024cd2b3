#!/usr/bin/env python3
"""The gate suite: real clients on loopback against service/gate.lua (snax.gateserver)
with tests/gate/echo_watchdog.lua and echo_agent.lua, on nodes this script starts and stops.

Usage: python3 tests/gate/gate_test.py [test ...]   (from the repository root)
Prints "ok <test>" or "FAIL <test>: why" for each, then "gate: N passed, M failed"."""
import asyncio
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time

OUT = os.path.join("tests", "out", "gate")
SKYNET = os.environ.get("SKYNET", "./skynet")


class Node:
    """A skynet node running tests/gate/gate_main.lua with the given gate limits."""

    def __init__(self, name, config=None, ready=r"gate test: listening on \S+ (?P<port>\d+)", **limits):
        os.makedirs(OUT, exist_ok=True)
        self.log_path = os.path.join(OUT, name + ".log")
        cfg = os.path.join(OUT, name + ".config")
        with open(cfg, "w") as f:
            if config is not None:
                f.write(config)
                limits = {}
            else:
                    f.write('thread = 2\nharbor = 0\nbootstrap = "snlua bootstrap"\n'
                        'start = "gate_main"\ncpath = "./cservice/?.so"\n'
                        'lualoader = "./lualib/loader.lua"\n'
                        'lua_path = "./lualib/?.lua;./lualib/?/init.lua"\n'
                        'lua_cpath = "./luaclib/?.so"\n'
                        'luaservice = "tests/gate/?.lua;./service/?.lua"\n')
            for k, v in limits.items():
                f.write("gate_%s = %d\n" % (k, v))
        self.log = open(self.log_path, "w")
        self.seen = 0
        self.proc = subprocess.Popen([SKYNET, cfg], stdout=self.log, stderr=subprocess.STDOUT)
        m = self.wait_log(ready, 15)
        if not m:
            self.stop()
            raise RuntimeError("node %s did not start, see %s" % (name, self.log_path))
        self.port = int(m.group("port"))

        self.seen = 0

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def mark(self):
        """Later wait_log calls look only at what the log gets from now on."""
        self.seen = len(self.text())

    def wait_log(self, pattern, seconds):
        """The first match of pattern in the log, waiting up to seconds for it."""
        deadline = time.monotonic() + seconds
        while True:
            m = re.search(pattern, self.text()[self.seen:])
            if m or time.monotonic() > deadline or self.proc.poll() is not None:
                return m
            time.sleep(0.05)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def frame(b):
    return struct.pack(">H", len(b)) + b


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def recv_frame(s):
    (n,) = struct.unpack(">H", recv_exact(s, 2))
    return recv_exact(s, n)


def echo_once(s, payload):
    s.sendall(frame(payload))
    got = recv_frame(s)
    if got != payload:
        raise AssertionError("echo differs: sent %d bytes, got %d" % (len(payload), len(got)))


def closed_by_server(s, seconds):
    """True when the server ends the connection (EOF or reset) within seconds."""
    s.settimeout(seconds)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class Healthy(threading.Thread):
    """A well-behaved client echoing a small packet every 20 ms; records the slowest reply."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.s = connect(port)
        self.stop_flag = threading.Event()
        self.replies = 0
        self.worst = 0.0
        self.error = None

    def run(self):
        try:
            i = 0
            while not self.stop_flag.is_set():
                i += 1
                t = time.monotonic()
                echo_once(self.s, b"ping %d" % i)
                self.worst = max(self.worst, time.monotonic() - t)
                self.replies += 1
                self.stop_flag.wait(0.02)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def count_during(self, fn):
        """Runs fn(); returns how many replies the healthy client got meanwhile."""
        before = self.replies
        fn()
        return self.replies - before

    def finish(self):
        self.stop_flag.set()
        self.join(10)
        self.s.close()


# ---------------------------------------------------------------------- tests

def t_echo_500(_node):
    """500 concurrent clients, each 20 packets of random sizes (0 to 65535 bytes) written in
    random pieces (frames split across writes, several frames in one write): every reply is
    byte-exact and in order. On a node with the gate's default limits (the clients write
    everything before they read: up to 1.3 MB of replies each wait for them) and a listen
    backlog of 1,024: with the default 32, 500 connections at once overflow the kernel's
    accept queue on a loaded machine, and it resets some of them (syncookies)."""
    node = Node("echo", backlog=1024)
    try:
        echo_500_on(node)
    finally:
        node.stop()


def echo_500_on(node):
    rng = random.Random(11)
    plans = []
    for _ in range(500):
        sizes = [rng.choice([0, 1, 2, 64, 300, 4096, rng.randint(0, 65535)]) for _ in range(20)]
        plans.append([bytes(rng.getrandbits(8) for _ in range(min(n, 64))) * (n // 64 + 1)
                      for n in sizes])
        plans[-1] = [p[:n] for p, n in zip(plans[-1], sizes)]

    async def one(plan, seed):
        try:
            return await one_client(plan, seed)
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            raise AssertionError("client %d: %s: %s" % (seed, type(e).__name__, e)) from e

    async def one_client(plan, seed):
        r = random.Random(seed)
        reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
        stream = b"".join(frame(p) for p in plan)
        pos = 0
        while pos < len(stream):
            step = r.choice([1, 2, 3, 100, 5000, 70000])
            writer.write(stream[pos:pos + step])
            pos += step
            if r.random() < 0.3:
                await writer.drain()
        await writer.drain()
        for i, p in enumerate(plan):
            try:
                n = struct.unpack(">H", await reader.readexactly(2))[0]
                got = await reader.readexactly(n)
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                raise AssertionError("client %d: %s after %d replies" % (seed, type(e).__name__, i)) from e
            if got != p:
                raise AssertionError("client %d: reply of %d bytes differs" % (seed, len(p)))
        writer.close()
        return len(plan)

    async def all_clients():
        return await asyncio.wait_for(
            asyncio.gather(*(one(p, i) for i, p in enumerate(plans))), 60)

    counts = asyncio.run(all_clients())
    assert sum(counts) == 500 * 20, counts
    assert node.alive(), "node died"


def t_kick(node):
    """A client whose agent has the watchdog kick it ("quit") is closed; the log says so; a
    client beside it keeps echoing."""
    other = connect(node.port)
    echo_once(other, b"before")
    victim = connect(node.port)
    echo_once(victim, b"hello")
    victim.sendall(frame(b"quit"))
    assert closed_by_server(victim, 10), "kicked client was not closed"
    assert node.wait_log(r"watchdog: kick \d+", 5), "no kick line in the log"
    echo_once(other, b"after")
    other.close()
    victim.close()


def t_maxclient(_node):
    """With maxclient 3, a 4th client is closed at once with a log line, the 3 keep working,
    and once one leaves a new client is taken."""
    node = Node("maxclient", maxclient=3)
    try:
        first = [connect(node.port) for _ in range(3)]
        for i, s in enumerate(first):
            echo_once(s, b"client %d" % i)
        extra = connect(node.port)
        assert closed_by_server(extra, 10), "4th client was not refused"
        assert node.wait_log(r"gateserver: refuse fd \d+ from 127\.0\.0\.1:\d+: 3 clients", 5), \
            "no refusal line in the log"
        for s in first:
            echo_once(s, b"still here")
        first[0].close()
        assert node.wait_log(r"watchdog: socket close", 5)
        late = connect(node.port)
        echo_once(late, b"late")
        for s in first[1:] + [late, extra]:
            s.close()
    finally:
        node.stop()


def bad_client_test(node, name, start_bad, check):
    """Runs a bad client beside a healthy one: the healthy one keeps getting replies within
    2 s each, the bad one meets check(bad socket) within its time."""
    healthy = Healthy(node.port)
    healthy.start()
    try:
        echo_once(connect(node.port), b"warm")  # the node answers at all
        bad = start_bad()
        got = healthy.count_during(lambda: check(bad))
        bad.close()
        assert healthy.error is None, "healthy client failed: %r" % healthy.error
        assert got >= 1, "healthy client got no reply during the %s" % name
        # and it goes on: five more replies, within a bounded wait
        target = healthy.replies + 5
        deadline = time.monotonic() + 5
        while healthy.replies < target and healthy.error is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert healthy.replies >= target, "healthy client stopped getting replies after the %s" % name
        assert healthy.worst < 2.0, "healthy client waited %.2fs for a reply" % healthy.worst
    finally:
        healthy.finish()
    assert healthy.error is None, "healthy client failed: %r" % healthy.error
    assert node.alive(), "node died"


def t_short_body(node):
    """A client announcing 1000 bytes and sending 10, then stalling, is closed (packet_timeout
    1 s) with a log line."""
    def start():
        s = connect(node.port)
        echo_once(s, b"normal first")
        s.sendall(struct.pack(">H", 1000) + b"0123456789")
        return s

    def check(s):
        assert closed_by_server(s, 10), "stalled client was not closed"
        assert node.wait_log(r"gateserver: fd \d+ closed: inside a packet \(12 of 1002 bytes\)", 5), \
            "no stall line in the log"
    bad_client_test(node, "short body", start, check)


def t_half_header(node):
    """A client sending one byte of a length and stalling is closed with a log line."""
    def start():
        s = connect(node.port)
        s.sendall(b"\x01")
        return s

    def check(s):
        assert closed_by_server(s, 10), "half-header client was not closed"
        assert node.wait_log(r"gateserver: fd \d+ closed: inside a packet \(1 of \? bytes\)", 5), \
            "no stall line in the log"
    bad_client_test(node, "half header", start, check)


def t_flood(_node):
    """A client sending 60 KB packets as fast as it can (reading its replies) is paused by
    maxbytes (log line) and not closed: it still gets its replies afterwards. (A node of its
    own, whose maxpending is high: a reader slowed down by the machine's load must not be
    taken for one that never reads.)"""
    node = Node("flood", packet_timeout=1, maxbytes=1024 * 1024, maxpending=64 * 1024)
    try:
        flood_on(node)
    finally:
        node.stop()


def flood_on(node):
    held = {}
    stop = threading.Event()
    writer_done = threading.Event()
    stats = {"sent": 0, "got": 0, "err": None}

    def start():
        s = connect(node.port)
        block = frame(b"F" * 60000) * 8

        def reader():
            try:
                while not (writer_done.is_set() and stats["got"] >= stats["sent"]):
                    recv_frame(s)
                    stats["got"] += 1
            except Exception as e:  # noqa: BLE001
                stats["err"] = e

        def writer():
            try:
                while not stop.is_set():
                    s.sendall(block)
                    stats["sent"] += 8
            except Exception as e:  # noqa: BLE001
                stats["err"] = e
            writer_done.set()
        threads = [threading.Thread(target=reader, daemon=True), threading.Thread(target=writer, daemon=True)]
        for t in threads:
            t.start()
        held['threads'] = threads
        return s

    def check(s):
        assert node.wait_log(r"gateserver: fd \d+ paused: \d+ bytes within a second \(maxbytes", 10), \
            "flooder was never paused"
        # the flood goes on for two more seconds (a duration of the test, not a wait for it)
        stop.wait(2)
        stop.set()
        held['threads'][1].join(15)
        held['threads'][0].join(15)
        assert stats["err"] is None, "flooder failed: %r" % stats["err"]
        assert stats["got"] == stats["sent"] > 0, "flooder got %d of %d" % (stats["got"], stats["sent"])
    bad_client_test(node, "flood", start, check)


def t_never_reads(node):
    """A client that sends and never reads its replies is closed once maxpending KiB of them
    wait unsent, with a log line."""
    held = {}
    stop = threading.Event()

    def start():
        s = connect(node.port, rcvbuf=4096)

        def writer():
            block = frame(b"N" * 60000) * 4
            try:
                while not stop.is_set():
                    s.sendall(block)
            except OSError:
                pass
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        held['writer'] = t
        return s

    def check(s):
        m = node.wait_log(r"gateserver: fd \d+ closed: \d+ KiB of replies unread \(maxpending", 30)
        stop.set()
        assert m, "client that never reads was not closed"
        assert node.wait_log(r"watchdog: socket warning \d+ \d+", 5), "the watchdog was not warned"
        assert closed_by_server(s, 10), "connection still open"
        held['writer'].join(10)
    bad_client_test(node, "never-reading client", start, check)


def t_example(_node):
    """examples/config (watchdog, gate, sproto agents) with examples/client.lua run by
    3rd/lua/lua: the handshake, set and get answers come back, "quit" closes the client."""
    node = Node("example", config='include "../../../examples/config"\n'
                'example_port = 0\ndebug_port = 0\nthread = 2\n',
                ready=r"Watchdog listen on \S+:(?P<port>\d+)")
    try:
        port = node.port
        client = subprocess.Popen(["./3rd/lua/lua", "examples/client.lua", str(port)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(client.stdout), daemon=True)
        reader.start()

        def wait_out(pattern, seconds):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if re.search(pattern, b"".join(lines).decode(errors="replace")):
                    return True
                time.sleep(0.05)
            return False
        try:
            assert wait_out(r"msg\tWelcome to skynet", 10), "no handshake response"
            client.stdin.write(b"hello\n")
            client.stdin.flush()
            assert wait_out(r"result\tworld", 10), "no answer to get hello"
            client.stdin.write(b"quit\n")
            client.stdin.flush()
            assert client.wait(10) == 1, "client did not end"
            reader.join(5)
            out = b"".join(lines).decode(errors="replace")
            assert "Server closed" in out, out
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        for pattern in (r"New client from : 127\.0\.0\.1:\d+", r"set\thello\tworld",
                        r"get\thello", r"socket close\t\d+"):
            assert node.wait_log(pattern, 5), "the node did not log " + pattern
    finally:
        node.stop()


def t_accept(_node):
    """A connection the watchdog "accept"s (no agent) has its packets sent to the watchdog
    as "socket" "data" messages."""
    node = Node("accept", accept=1)
    try:
        s = connect(node.port)
        echo_once(s, b"to the watchdog")
        assert node.wait_log(r"watchdog: data from unforwarded fd \d+ 15", 5), "no data line"
        s.close()
        assert node.wait_log(r"watchdog: socket close \d+", 5), "no close line"
    finally:
        node.stop()


def t_close(_node):
    """The gate's "close" stops listening: new clients are refused, a connected one goes on."""
    node = Node("close")
    try:
        s = connect(node.port)
        s.sendall(frame(b"stop listening"))
        assert recv_frame(s) == b"stopped"
        assert node.wait_log(r"watchdog: gate closed", 5)
        refused = False
        deadline = time.monotonic() + 5
        while not refused and time.monotonic() < deadline:
            try:
                connect(node.port).close()
                time.sleep(0.05)
            except ConnectionRefusedError:
                refused = True
        assert refused, "the gate still accepts after close"
        echo_once(s, b"still served")
        s.close()
    finally:
        node.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def t_login(_node):
    """examples/config.login (snax.loginserver + snax.msgserver) with examples/login/client.lua:
    login, handshake, a request left unanswered, reconnection, the missed answer resent; a
    bad handshake is answered 404 and closed."""
    login_port, gate_port = free_port(), free_port()
    node = Node("login", config='include "../../../examples/config.login"\n'
                'login_port = %d\ngate_port = %d\nthread = 2\n' % (login_port, gate_port),
                ready=r"message server sample on port (?P<port>\d+)")
    try:
        assert node.wait_log(r"login server listen at : 127\.0\.0\.1 %d" % login_port, 5)
        run = subprocess.run(["./3rd/lua/lua", "examples/login/client.lua", str(login_port), str(gate_port)],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        out = run.stdout.decode(errors="replace")
        assert run.returncode == 0, "client failed: %s %s" % (out, run.stderr.decode(errors="replace"))
        for line in ("login ok, subid=\t1", "<===\ttrue\techo\t0", "<===\ttrue\tagain\t1"):
            assert line in out, "client output lacks %r:\n%s" % (line, out)
        assert out.count("200 OK") == 2, out
        assert node.wait_log(r"hello@sample is login, secret is [0-9a-f]{16}", 5)
        bad = connect(gate_port)
        bad.sendall(frame(b"nobody:1:AAAA"))
        assert recv_frame(bad) == b"404 User Not Found"
        assert closed_by_server(bad, 10), "bad handshake not closed"
        bad.close()
    finally:
        node.stop()


TESTS = [
    ("echo_500", t_echo_500),
    ("kick", t_kick),
    ("maxclient", t_maxclient),
    ("short_body", t_short_body),
    ("half_header", t_half_header),
    ("flood", t_flood),
    ("never_reads", t_never_reads),
    ("accept", t_accept),
    ("close", t_close),
    ("example", t_example),
    ("login", t_login),
]


def main():
    names = sys.argv[1:] or [n for n, _ in TESTS]
    passed = failed = 0
    try:
        node = Node("main", packet_timeout=1, maxbytes=1024 * 1024, maxpending=1024)
    except Exception as e:  # noqa: BLE001
        print("FAIL start: %s" % e)
        print("gate: 0 passed, 1 failed")
        sys.exit(1)
    try:
        for name, fn in TESTS:
            if name not in names:
                continue
            t0 = time.monotonic()
            node.mark()
            try:
                fn(node)
                print("ok   %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
                passed += 1
            except Exception as e:  # noqa: BLE001
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
                failed += 1
    finally:
        node.stop()
    bad = [l for l in node.text().splitlines() if re.search(r"stack traceback|\berror\b.*lua:", l)]
    if bad:
        print("FAIL log: Lua errors in %s:\n  %s" % (node.log_path, "\n  ".join(bad[:10])))
        failed += 1
    print("gate: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
