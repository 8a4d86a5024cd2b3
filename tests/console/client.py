#!/usr/bin/env python3
"""The console suite's client: talks to a node's debug_console over loopback.

usage: client.py PORT TARGET_SOURCE OUTDIR
  PORT           the console's port
  TARGET_SOURCE  tests/console/console_target.lua (line numbers for the debugger)
  OUTDIR         a scratch folder (inject scripts)
Prints "ok NAME" / "FAIL NAME: why" per check and "RESULT passed failed" last.
"""
import os
import re
import socket
import subprocess
import sys
import threading
import time

PORT = int(sys.argv[1])
TARGET_SOURCE = sys.argv[2]
OUTDIR = sys.argv[3]
WAIT = 10.0  # seconds any one answer may take

passed = 0
failed = 0


class Closed(Exception):
    pass


class Console:
    def __init__(self):
        deadline = time.time() + WAIT
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=WAIT)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)  # the port is not accepting yet: retry, bounded
        self.buf = b""
        self.read_until(b"Welcome to skynet console\n")

    def send(self, text, end=b"\n"):
        if isinstance(text, str):
            text = text.encode("latin1")
        self.sock.sendall(text + end)

    def read_until(self, marker):
        """Everything up to and including marker (bytes or compiled regex)."""
        deadline = time.time() + WAIT
        while True:
            if isinstance(marker, bytes):
                at = self.buf.find(marker)
                end = at + len(marker) if at >= 0 else -1
            else:
                m = marker.search(self.buf)
                end = m.end() if m else -1
            if end >= 0:
                got, self.buf = self.buf[:end], self.buf[end:]
                return got.decode("latin1")
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no %r in %r" % (marker, self.buf[-300:]))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no %r in %r" % (marker, self.buf[-300:])) from None
            if not data:
                raise Closed("closed before %r; got %r" % (marker, self.buf[-300:]))
            self.buf += data

    END = re.compile(rb"^<CMD (OK|Error)>\n", re.M)

    def cmd(self, text, end=b"\n"):
        """Run a command; returns (ok, [lines before the status line])."""
        self.send(text, end)
        out = self.read_until(self.END)
        lines = out.split("\n")[:-1]
        status = lines.pop()
        return status == "<CMD OK>", lines

    def closed(self):
        """True when the console ends the connection (within WAIT)."""
        self.sock.settimeout(WAIT)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()


def check(name, fn):
    global passed, failed
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - report and go on
        failed += 1
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
    else:
        passed += 1
        print("ok   %s" % name)


def expect(cond, why):
    if not cond:
        raise AssertionError(why)


def expect_ok(c, text):
    ok, lines = c.cmd(text)
    expect(ok, "%r answered an error: %r" % (text, lines))
    return lines


def expect_error(c, text, end=b"\n"):
    ok, lines = c.cmd(text, end)
    expect(not ok, "%r did not answer an error: %r" % (text, lines))
    return lines


def table_of(lines):
    """'key<TAB>value' lines into a dict."""
    out = {}
    for line in lines:
        key, _, value = line.partition("\t")
        out[key] = value
    return out


def line_of(needle):
    with open(TARGET_SOURCE) as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    raise AssertionError("no %r in %s" % (needle, TARGET_SOURCE))


con = Console()
services = {}  # label -> address


def address_of(label):
    for addr, line in table_of(expect_ok(con, "list")).items():
        if line == "snlua console_target " + label:
            return addr
    return None


UPSTREAM_HELP = (
    "help list stat info exit kill mem gc start snax clearcache service task uniqtask inject "
    "logon logoff log debug signal cmem jmem ping call trace netstat profactive dumpheap killtask "
    "dbgcmd getenv setenv").split()


def t_help():
    h = table_of(expect_ok(con, "help"))
    missing = [c for c in UPSTREAM_HELP if c not in h]
    expect(not missing, "help lacks %s" % missing)
    expect(h["info"] == "info address : get service infomation", "help text of info: %r" % h["info"])


def t_list():
    lines = expect_ok(con, "list")
    for line in lines:
        expect(re.match(r"^:[0-9a-f]{8}\tsnlua ", line), "list line %r" % line)
    rows = table_of(lines).values()
    for want in ("snlua console_target alpha", "snlua console_target beta",
                 "snlua debug_console 127.0.0.1 %d" % PORT):
        expect(want in rows, "list lacks %r: %r" % (want, lines))
    services["alpha"] = address_of("alpha")
    services["beta"] = address_of("beta")
    expect(services["alpha"] and services["beta"], "no target addresses")


def t_stat():
    rows = table_of(expect_ok(con, "stat"))
    row = rows.get(services["alpha"], "")
    cells = dict(cell.split(":", 1) for cell in row.split("\t") if ":" in cell)
    expect(set(cells) == {"cpu", "message", "mqlen", "task"}, "stat row %r" % row)
    expect(int(cells["message"]) > 0, "message count %r" % row)


def t_mem():
    rows = table_of(expect_ok(con, "mem"))
    row = rows.get(services["alpha"], "")
    expect(re.match(r"^\d+\.\d\d Kb \(snlua console_target alpha\)$", row), "mem row %r" % row)
    expect(len(rows) >= 3, "mem rows %r" % rows)


def t_info():
    rows = table_of(expect_ok(con, "info .ctarget"))
    expect(rows.get("label") == "alpha" and "adds" in rows, "info %r" % rows)
    rows = table_of(expect_ok(con, "info " + services["beta"]))
    expect(rows.get("label") == "beta", "info of beta %r" % rows)


def t_ping():
    lines = expect_ok(con, "ping " + services["alpha"])
    expect(len(lines) == 1 and lines[0].isdigit(), "ping %r" % lines)
    # the short form: hex digits of this harbor
    expect_ok(con, "ping " + services["alpha"].lstrip(":").lstrip("0"))


def t_call():
    lines = expect_ok(con, "call .ctarget 'add', 2, 3")
    expect(lines == ["1\t5", "n\t1"], "call %r" % lines)
    lines = expect_ok(con, "call %s 'get'" % services["beta"])
    expect(lines == ["1\t0", "2\tbeta", "n\t2"], "call get %r" % lines)
    expect_error(con, "call .ctarget")  # no arguments
    expect_error(con, "call .ctarget 'add', (")  # not Lua
    expect_error(con, "call .ctarget 'nosuch'")  # the service raises


def t_start_kill():
    lines = expect_ok(con, "start console_target gamma")
    expect(len(lines) == 1 and re.match(r"^:[0-9a-f]{8}\tconsole_target$", lines[0]), "start %r" % lines)
    addr = lines[0].split("\t")[0]
    expect(address_of("gamma") == addr, "gamma not listed")
    expect(expect_ok(con, "call %s 'get'" % addr)[1] == "2\tgamma", "gamma does not answer")
    lines = expect_ok(con, "kill " + addr)
    expect(lines == [addr + "\tsnlua console_target gamma"], "kill %r" % lines)
    expect(address_of("gamma") is None, "gamma still listed")
    expect_error(con, "ping " + addr)
    lines = expect_ok(con, "start nosuchservice")
    expect(lines == ["Failed"], "start of a missing service %r" % lines)


def t_log():
    lines = expect_ok(con, "log console_target delta")
    expect(len(lines) == 1 and lines[0].endswith("\tconsole_target"), "log %r" % lines)
    addr = lines[0].split("\t")[0]
    logfile = os.path.join(OUTDIR, "logs", addr[1:] + ".log")
    expect_ok(con, "call %s 'get'" % addr)
    expect(os.path.exists(logfile), "no message log %s" % logfile)
    expect_ok(con, "logoff " + addr)
    expect_ok(con, "kill " + addr)
    other = services["beta"]
    expect_ok(con, "logon " + other)
    expect_ok(con, "call %s 'get'" % other)
    expect_ok(con, "logoff " + other)
    expect(os.path.exists(os.path.join(OUTDIR, "logs", other[1:] + ".log")), "logon wrote no log")


def t_second_console():
    # debug_console with the port alone listens on 127.0.0.1
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port2 = probe.getsockname()[1]
    probe.close()
    lines = expect_ok(con, "start debug_console %d" % port2)
    addr = lines[0].split("\t")[0]
    global PORT
    saved, PORT = PORT, port2
    try:
        c = Console()
        expect(table_of(expect_ok(c, "info .ctarget")).get("label") == "alpha", "second console")
        c.close()
    finally:
        PORT = saved
    expect_ok(con, "kill " + addr)


def t_snax():
    lines = expect_ok(con, "snax console_snax one")
    expect(len(lines) == 1 and re.match(r"^:[0-9a-f]{8}\tconsole_snax$", lines[0]), "snax %r" % lines)
    addr = lines[0].split("\t")[0]
    expect(any(l.startswith(addr + "\tsnlua snaxd console_snax") for l in expect_ok(con, "list")),
           "snax service not listed")
    expect_ok(con, "ping " + addr)
    expect(expect_ok(con, "snax nosuchsnax") == ["Failed"], "snax of a missing service")
    expect_ok(con, "kill " + addr)


def t_exit_service():
    lines = expect_ok(con, "start console_target epsilon")
    addr = lines[0].split("\t")[0]
    expect_ok(con, "exit " + addr)
    deadline = time.time() + WAIT
    while address_of("epsilon") is not None:
        expect(time.time() < deadline, "epsilon still listed after exit")
        time.sleep(0.05)  # the EXIT is a send: poll the list, bounded


def t_inject():
    path = os.path.join(OUTDIR, "inject_probe.lua")
    with open(path, "w") as f:
        f.write('print("probe ran in", SERVICE_NAME, ...)\nINJECTED = 42\n')
    lines = expect_ok(con, "inject .ctarget %s one two" % path)
    expect(lines == ["probe ran in\tconsole_target\tone\ttwo"], "inject %r" % lines)
    bad = os.path.join(OUTDIR, "inject_bad.lua")
    with open(bad, "w") as f:
        f.write('error("probe failure")\n')
    lines = expect_error(con, "inject .ctarget " + bad)
    expect(any("probe failure" in l for l in lines), "inject error %r" % lines)
    lines = expect_ok(con, "inject .ctarget nosuchfile.lua")
    expect(lines == ["Can't open nosuchfile.lua"], "inject missing file %r" % lines)


def kb_of(row):
    return float(row.split(" ")[0])


def t_gc():
    before = float(expect_ok(con, "call .ctarget 'churn', 4000")[0].split("\t")[1])
    expect(before > 3000, "churn left only %.0f KB" % before)
    rows = table_of(expect_ok(con, "gc"))
    after = kb_of(rows[services["alpha"]])
    expect(after < before - 3000, "gc: %.0f KB -> %.0f KB" % (before, after))


def t_tasks():
    lines = expect_ok(con, "task .ctarget")
    expect(lines == [], "task of an idle service %r" % lines)
    expect_ok(con, "uniqtask .ctarget")
    lines = expect_ok(con, "killtask .ctarget nosuch")
    expect(lines == ["Not found"], "killtask %r" % lines)
    expect_ok(con, "dbgcmd .ctarget PING")
    # a task parked in skynet.wait is listed, with its traceback
    caller = Caller("call .ctarget 'hold'")
    deadline = time.time() + WAIT
    while True:
        lines = expect_ok(con, "task .ctarget")
        if lines:
            break
        expect(time.time() < deadline, "the held task never showed")
        time.sleep(0.05)  # the hold request is on its way: poll, bounded
    expect(re.match(r"^thread: \S+ session: \d+\tstack traceback:", lines[0]), "task line %r" % lines)
    expect(any("console_target.lua" in l for l in lines), "task traceback %r" % lines)
    rows = table_of(expect_ok(con, "stat"))
    expect("task:1" in rows[services["alpha"]], "stat task count %r" % rows[services["alpha"]])
    lines = expect_ok(con, "uniqtask .ctarget")
    expect(lines and re.match(r"^\d+\t", lines[0]), "uniqtask %r" % lines)
    expect_ok(con, "call .ctarget 'free'")
    ok, lines = caller.wait()
    expect(ok and lines[0] == "1\treleased", "held call %r" % (lines,))
    # killtask ends a held task by (part of) its thread name; its caller gets an error
    caller = Caller("call .ctarget 'hold'")
    deadline = time.time() + WAIT
    while True:
        lines = expect_ok(con, "task .ctarget")
        if lines:
            break
        expect(time.time() < deadline, "the second held task never showed")
        time.sleep(0.05)  # as above
    name = re.match(r"^thread: (\S+) session:", lines[0]).group(1)
    expect_ok(con, "killtask .ctarget " + name)
    ok, lines = caller.wait()
    expect(not ok, "the killed task's caller got %r" % (lines,))
    expect(expect_ok(con, "task .ctarget") == [], "task after killtask")


def t_misc():
    expect_ok(con, "trace .ctarget on")
    expect_ok(con, "trace .ctarget lua off")
    rows = table_of(expect_ok(con, "cmem"))
    expect(rows.get("total", "").isdigit() and rows.get("block", "").isdigit(), "cmem %r" % rows)
    expect_ok(con, "jmem")
    lines = expect_ok(con, "profactive")
    expect(lines and lines[0].startswith("heap profilling is "), "profactive %r" % lines)
    expect_ok(con, "clearcache")
    rows = table_of(expect_ok(con, "getenv console_port"))
    expect(rows == {"console_port": str(PORT)}, "getenv %r" % rows)
    expect_ok(con, "setenv console_probe yes")
    expect(table_of(expect_ok(con, "getenv console_probe")) == {"console_probe": "yes"}, "setenv")
    expect_ok(con, "service")


def t_signal():
    addr = services["beta"]
    expect_ok(con, "signal %s 5" % addr)
    wait_log(re.escape("[%s] recv a signal 5" % addr))
    expect_error(con, "signal %s notanumber" % addr)
    expect_ok(con, "ping " + addr)


def wait_log(pattern):
    """The node's log, once pattern (a regex) matches it (bounded)."""
    logfile = os.path.join(OUTDIR, "node.log")
    deadline = time.time() + WAIT
    while True:
        with open(logfile, errors="replace") as f:
            text = f.read()
        if re.search(pattern, text, re.M):
            return text
        expect(time.time() < deadline, "no %r in the node's log" % pattern)
        time.sleep(0.05)  # the service prints on its own: poll the log, bounded


def t_cmemory_dbg():
    expect(expect_ok(con, "start cmemory") == ["Exit"], "cmemory does not exit at once")
    wait_log(r"^Total memory:\t\d+$")
    wait_log(r"^Total block:\t\d+$")
    expect(expect_ok(con, "start dbg MEM") == ["Exit"], "dbg does not exit at once")
    wait_log(r"^%s\t\d+\.\d\d Kb \(snlua console_target alpha\)$" % re.escape(services["alpha"]))


def t_netstat():
    lines = expect_ok(con, "netstat")
    text = "\n".join(lines)
    expect("type:LISTEN" in text and "sock:127.0.0.1:%d" % PORT in text, "netstat %r" % lines)
    expect("type:TCP" in text, "netstat has no connection: %r" % lines)


def t_unknown():
    lines = expect_error(con, "nosuchcommand 1 2")
    expect(lines[0] == "Invalid command, type help for command list", "unknown %r" % lines)
    expect_ok(con, "ping .ctarget")


def t_crlf():
    ok, lines = con.cmd("info .ctarget", b"\r\n")
    expect(ok and table_of(lines).get("label") == "alpha", "CRLF %r" % lines)


def t_garbage():
    expect_error(con, b"\xff\xfe\x00\x01garbage\x7f")
    expect_error(con, b"\x00\x00\x00")
    expect_ok(con, "ping .ctarget")


def t_long_line():
    lines = expect_error(con, b"A" * 200000)
    expect(lines and "too long" in lines[0], "long line %r" % lines)
    expect_ok(con, "ping .ctarget")
    # sent in pieces, no end of line until the last
    con.send(b"B" * 70000, end=b"")
    con.send(b"C" * 70000, end=b"")
    ok, lines = con.cmd("")
    expect(not ok and "too long" in lines[0], "long line in pieces %r" % lines)
    expect_ok(con, "ping .ctarget")


def t_dead():
    dead = ":00ffff00"
    for text in ("ping", "info", "task", "call"):
        line = "%s %s" % (text, dead) + (" 'x'" if text == "call" else "")
        lines = expect_error(con, line)
        expect(any("invalid address" in l for l in lines), "%s of a dead service %r" % (text, lines))
    expect_error(con, "ping")  # no address
    expect_error(con, "ping .nosuchname")
    expect_error(con, "ping zz")
    lines = expect_error(con, "debug " + dead)
    expect(lines == ["Debugger attach failed"], "debug of a dead service %r" % lines)
    expect_ok(con, "ping .ctarget")


def t_http():
    base = "http://127.0.0.1:%d" % PORT

    def curl(*args):
        r = subprocess.run(["curl", "-s", "--http0.9", "--max-time", str(int(WAIT))] + list(args),
                           capture_output=True, timeout=WAIT + 5)
        return r.stdout.decode("latin1").split("\n")

    lines = curl(base + "/list")
    expect(lines[0] == "Welcome to skynet console" and "<CMD OK>" in lines, "GET /list %r" % lines)
    expect(any(l.endswith("\tsnlua console_target alpha") for l in lines), "GET /list %r" % lines)
    lines = curl(base + "/info/.ctarget")
    expect("label\talpha" in lines and "<CMD OK>" in lines, "GET /info %r" % lines)
    lines = curl("--data-binary", "call .ctarget 'add', 4, 5", base + "/")
    expect("1\t9" in lines and "<CMD OK>" in lines, "POST call %r" % lines)
    lines = curl(base + "/nosuch")
    expect("<CMD Error>" in lines, "GET /nosuch %r" % lines)
    # a request line without a path; too many header lines; an over-long one
    for raw in (b"GET \r\n\r\n", b"GET /list HTTP/1.0\r\n" + b"X: y\r\n" * 200 + b"\r\n",
                b"GET /list HTTP/1.0\r\nX: " + b"y" * 70000 + b"\r\n\r\n"):
        c = Console()
        c.send(raw, end=b"")
        got = c.read_until(Console.END)
        expect(got.endswith("Bad HTTP request\n<CMD Error>\n"), "bad HTTP %r" % got)
        expect(c.closed(), "bad HTTP request left the connection open")
        c.close()


def prompt_re(addr):
    return re.compile(re.escape(addr.encode()) + rb">$")


def at_line(n):
    return re.compile(rb"console_target\.lua\(%d\)>$" % n)


class Caller(threading.Thread):
    """A second console connection making one call, which may block."""

    def __init__(self, text):
        super().__init__(daemon=True)
        self.text = text
        self.result = None
        self.c = Console()
        self.start()

    def run(self):
        try:
            self.result = self.c.cmd(self.text)
        except Exception as e:  # noqa: BLE001
            self.result = (False, [repr(e)])

    def wait(self):
        self.join(WAIT)
        expect(not self.is_alive(), "%r never answered" % self.text)
        self.c.close()
        return self.result


def t_debug_session():
    addr = services["alpha"]
    adds0 = int(table_of(expect_ok(con, "info .ctarget"))["adds"])
    d = Console()
    d.send("debug .ctarget")
    d.read_until(prompt_re(addr))
    d.send('watch("lua")')
    d.read_until(prompt_re(addr))
    caller = Caller("call .ctarget 'add', 10, 20")
    l_first, l_second = line_of("local first = a"), line_of("local second = b")
    l_result, l_total = line_of("local result = combine"), line_of("local total = a + b")
    d.read_until(at_line(line_of('if cmd == "add"')))  # the handler's first line
    d.send("n")
    d.read_until(at_line(l_first))
    d.send("n")
    d.read_until(at_line(l_second))
    d.send("n\r")  # CRLF tolerated
    d.read_until(at_line(l_result))
    d.send("second")
    got = d.read_until(at_line(l_result))
    expect(got.startswith("20\t\n"), "print a local: %r" % got)
    d.send("first + second, cmd")
    got = d.read_until(at_line(l_result))
    expect(got.startswith("30\tadd\t\n"), "an expression: %r" % got)
    d.send("s")
    d.read_until(at_line(l_total))
    d.send("n")
    d.read_until(at_line(l_total + 1))
    d.send("total")
    got = d.read_until(at_line(l_total + 1))
    expect(got.startswith("30\t\n"), "a local after stepping in: %r" % got)
    expect(caller.is_alive(), "the stopped call answered already")
    d.send("c")
    d.read_until(prompt_re(addr))
    ok, lines = caller.wait()
    expect(ok and lines == ["1\t30", "n\t1"], "the call after continue: %r" % (lines,))
    d.send("cont")
    d.read_until(b"<CMD OK>\n")
    # the service serves, and the console connection is a console again
    rows = table_of(expect_ok(d, "info .ctarget"))
    expect(int(rows["adds"]) == adds0 + 1, "adds after the session %r" % rows)
    expect(expect_ok(d, "call .ctarget 'add', 1, 1") == ["1\t2", "n\t1"], "call after detach")
    d.close()


def t_debug_breakat():
    addr = services["alpha"]
    line = line_of("adds = adds + 1")
    d = Console()
    d.send("debug " + addr)
    d.read_until(prompt_re(addr))
    d.send("breakat(%d)" % line)
    got = d.read_until(prompt_re(addr))
    expect("break at line %d" % line in got, "breakat %r" % got)
    caller = Caller("call .ctarget 'add', 7, 8")
    d.read_until(at_line(line))
    d.send("result")
    got = d.read_until(at_line(line))
    expect(got.startswith("15\t\n"), "a local at the breakpoint %r" % got)
    d.send("c")
    d.read_until(prompt_re(addr))
    ok, lines = caller.wait()
    expect(ok and lines[0] == "1\t15", "call after the breakpoint %r" % (lines,))
    d.send("cont")
    d.read_until(b"<CMD OK>\n")
    d.close()
    expect_ok(con, "call .ctarget 'add', 1, 2")


def t_debug_break_function():
    # a breakpoint on a function (by name, and by value), then c runs on to the
    # next breakpoint in the same task
    addr = services["alpha"]
    l_total, l_adds = line_of("local total = a + b"), line_of("adds = adds + 1")
    d = Console()
    d.send("debug " + addr)
    d.read_until(prompt_re(addr))
    d.send('breakat("combine")')
    got = d.read_until(prompt_re(addr))
    expect("break at calls of combine" in got, "breakat by name %r" % got)
    d.send("breakat(%d)" % l_adds)
    d.read_until(prompt_re(addr))
    caller = Caller("call .ctarget 'add', 3, 4")
    d.read_until(at_line(l_total))
    d.send("a, b")
    got = d.read_until(at_line(l_total))
    expect(got.startswith("3\t4\t\n"), "arguments at the function breakpoint %r" % got)
    d.send("c")
    d.read_until(at_line(l_adds))
    d.send("result")
    got = d.read_until(at_line(l_adds))
    expect(got.startswith("7\t\n"), "a local at the next breakpoint %r" % got)
    d.send("unbreak()")
    d.read_until(at_line(l_adds))
    d.send("c")
    d.read_until(prompt_re(addr))
    ok, lines = caller.wait()
    expect(ok and lines[0] == "1\t7", "call after the breakpoints %r" % (lines,))
    # no breakpoint left: a call runs through
    expect(expect_ok(con, "call .ctarget 'add', 1, 1")[0] == "1\t2", "call after unbreak")
    d.send("cont")
    d.read_until(b"<CMD OK>\n")
    d.close()


def t_debug_peer_leaves():
    # the console peer goes away while a task is stopped: the service leaves
    # debug mode, the task goes on, the service keeps serving
    addr = services["beta"]
    d = Console()
    d.send("debug " + addr)
    d.read_until(prompt_re(addr))
    d.send('watch("lua", function(_, _, cmd) return cmd == "add" end)')
    d.read_until(prompt_re(addr))
    expect(expect_ok(con, "call %s 'get'" % addr)[1] == "2\tbeta", "get while watching")
    caller = Caller("call %s 'add', 1, 1" % addr)
    d.read_until(at_line(line_of('if cmd == "add"')))
    d.close()
    ok, lines = caller.wait()
    expect(ok and lines[0] == "1\t2", "stopped call after the peer left %r" % (lines,))
    expect_ok(con, "ping " + addr)
    # and it can be debugged again
    d = Console()
    d.send("debug " + addr)
    d.read_until(prompt_re(addr))
    d.send("1 + 1")
    got = d.read_until(prompt_re(addr))
    expect(got.startswith("2\t\n"), "expression at the top prompt %r" % got)
    d.send("cont")
    d.read_until(b"<CMD OK>\n")
    d.close()


def t_debug_step_over_call():
    # "n" over a line that calls another service: the task waits, the service
    # serves, and the debugger stops at the next line when the answer comes
    addr = services["alpha"]
    d = Console()
    d.send("debug " + addr)
    d.read_until(prompt_re(addr))
    d.send('watch("lua", function(_, _, cmd) return cmd == "relay" end)')
    d.read_until(prompt_re(addr))
    caller = Caller("call .ctarget 'relay', %d" % int(services["beta"][1:], 16))
    l_call, l_text = line_of("local count, name = skynet.call"), line_of('local text = name .. "#"')
    d.read_until(at_line(line_of('if cmd == "add"')))
    deadline = time.time() + WAIT
    while True:  # "n" down to the call line (each n is answered by a prompt)
        d.send("n")
        got = d.read_until(re.compile(rb"\)>$"))
        if "(%d)>" % l_call in got:
            break
        expect(time.time() < deadline, "never reached the call line: %r" % got)
    d.send("n")
    d.read_until(at_line(l_text))
    d.send("name, count")
    got = d.read_until(at_line(l_text))
    expect(got.startswith("beta\t"), "locals after the call %r" % got)
    d.send("c")
    d.read_until(prompt_re(addr))
    ok, lines = caller.wait()
    expect(ok and lines[0].startswith("1\tbeta#"), "relay answer %r" % (lines,))
    d.send("cont")
    d.read_until(b"<CMD OK>\n")
    d.close()


def t_debug_target_dies():
    # the debugged service is killed: the session ends with an error line and
    # the connection is a console again
    lines = expect_ok(con, "start console_target zeta")
    addr = lines[0].split("\t")[0]
    d = Console()
    d.send("debug " + addr)
    d.read_until(prompt_re(addr))
    expect_ok(con, "kill " + addr)
    got = d.read_until(Console.END)
    expect(got.endswith("Debugger attach failed\n<CMD Error>\n"), "session end %r" % got)
    expect_ok(d, "ping .ctarget")
    d.close()


def t_exit_console():
    c = Console()
    expect_ok(c, "ping .ctarget")
    c.send("exit")
    c.read_until(b"<CMD OK>\n")
    expect(c.closed(), "exit did not end the connection")
    c.close()
    expect_ok(con, "ping .ctarget")


for name, fn in [
    ("help lists upstream's commands", t_help),
    ("list shows the services", t_list),
    ("stat gives per-service stats", t_stat),
    ("mem gives per-service memory", t_mem),
    ("info returns the service's info", t_info),
    ("ping answers", t_ping),
    ("call returns the result", t_call),
    ("start launches, kill stops", t_start_kill),
    ("log launches with a log; logon, logoff", t_log),
    ("start debug_console with a port alone", t_second_console),
    ("snax launches a snax service", t_snax),
    ("exit address stops a service", t_exit_service),
    ("inject runs code", t_inject),
    ("gc frees", t_gc),
    ("task, uniqtask, killtask, dbgcmd", t_tasks),
    ("trace, cmem, jmem, profactive, getenv, setenv, service", t_misc),
    ("signal reaches the service", t_signal),
    ("the cmemory and dbg services print", t_cmemory_dbg),
    ("netstat shows sockets", t_netstat),
    ("an unknown command is an error, console serves on", t_unknown),
    ("CRLF lines", t_crlf),
    ("garbage bytes", t_garbage),
    ("an over-long line", t_long_line),
    ("a dead service", t_dead),
    ("HTTP GET and POST", t_http),
    ("debug: watch, step, print locals, continue, detach", t_debug_session),
    ("debug: breakat a line", t_debug_breakat),
    ("debug: breakat a function, c to the next breakpoint", t_debug_break_function),
    ("debug: the console peer leaves while stopped", t_debug_peer_leaves),
    ("debug: next over a call to another service", t_debug_step_over_call),
    ("debug: the debugged service dies", t_debug_target_dies),
    ("exit ends the console connection", t_exit_console),
]:
    check(name, fn)

con.close()
print("RESULT %d %d" % (passed, failed))
