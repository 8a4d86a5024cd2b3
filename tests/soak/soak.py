#!/usr/bin/env python3
"""make soak: runs a node of our stack under a mixed load for a set time and reports, every
interval, echoed messages, the node's RSS and its own counters (services spawned and
killed, calls, calls to killed services that failed as they must, hung callers, timer
ticks). Passes with zero lost or wrong echoes, zero hung callers, and RSS after warm-up
within 15% + 2 MB of its level at the end of warm-up.
usage: soak.py <skynet executable> <seconds> [clients]"""
import os, re, selectors, socket, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def main():
    exe, seconds = sys.argv[1], int(sys.argv[2])
    clients = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    interval = max(5, min(60, seconds // 10))
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    port = free_port()
    work = tempfile.mkdtemp(prefix="soak-")
    cfg = os.path.join(work, "config")
    with open(cfg, "w") as f:
        f.write(f'''thread = 4
harbor = 0
bootstrap = "snlua bootstrap"
start = "soak_main"
soak_port = {port}
soak_report = {interval}
cpath = "{root}/cservice/?.so"
lualoader = "{root}/lualib/loader.lua"
lua_path = "{root}/lualib/?.lua;{root}/lualib/?/init.lua"
lua_cpath = "{root}/luaclib/?.so"
luaservice = "{root}/service/?.lua;{here}/?.lua"
''')
    log = open(os.path.join(work, "node.log"), "w+")
    node = subprocess.Popen([exe, cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        return run(node, log, port, seconds, clients, interval)
    finally:
        node.kill()
        node.wait()

def counters(log):
    log.flush()
    log.seek(0)
    last = None
    for line in log:
        m = re.search(r"SOAK t=(\d+) (.*)", line)
        if m:
            last = dict(kv.split("=") for kv in m.group(2).split())
    log.seek(0, 2)
    return last or {}

def run(node, log, port, seconds, clients, interval):
    deadline = time.time() + 20
    while "SOAK listening" not in open(log.name).read():
        if time.time() > deadline or node.poll() is not None:
            print("soak: the node did not start; its log:")
            print(open(log.name).read()[-3000:])
            return 1
        time.sleep(0.05)
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(clients):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        c = {"sock": s, "id": i, "seq": 0, "want": None, "buf": b"", "ok": 0}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
    payload = b"x" * 40
    def send(c):
        c["seq"] += 1
        c["want"] = b"%d %d %s" % (c["id"], c["seq"], payload)
        c["sock"].sendall(c["want"] + b"\n")
    for c in conns:
        send(c)
    wrong = 0
    start = time.time()
    end = start + seconds
    next_report = start + interval
    rows = []
    echoed = last_echoed = 0
    while time.time() < end:
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                data = c["sock"].recv(65536)
            except BlockingIOError:
                continue
            if not data:
                print(f"soak: connection {c['id']} closed by the node")
                return 1
            c["buf"] += data
            while b"\n" in c["buf"]:
                line, c["buf"] = c["buf"].split(b"\n", 1)
                if line != c["want"]:
                    wrong += 1
                c["ok"] += 1
                echoed += 1
                send(c)
        now = time.time()
        if now >= next_report:
            k = counters(log)
            rows.append((int(now - start), (echoed - last_echoed) / interval, rss_kb(node.pid), k))
            last_echoed = echoed
            next_report += interval
    # every connection has one message in flight: it must still come back
    lost = 0
    grace = time.time() + 10
    outstanding = {c["id"] for c in conns}
    while outstanding and time.time() < grace:
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            data = c["sock"].recv(65536)
            c["buf"] += data
            if b"\n" in c["buf"]:
                line = c["buf"].split(b"\n", 1)[0]
                if line != c["want"]:
                    wrong += 1
                outstanding.discard(c["id"])
                sel.unregister(c["sock"])
    lost = len(outstanding)
    time.sleep(interval + 1)	# one more report from the node, after the load stopped
    k = counters(log)
    rows.append((int(time.time() - start), 0.0, rss_kb(node.pid), k))
    print(f"{'t (s)':>6} {'echo/s':>9} {'RSS KB':>8} {'spawned':>8} {'calls':>8} {'killed-call errors':>18} {'hung':>5} {'bad':>4} {'ticks':>7}")
    for t, rate, rss, k in rows:
        print(f"{t:>6} {rate:>9.0f} {rss:>8} {k.get('spawned','-'):>8} {k.get('calls','-'):>8} {k.get('failed_ok','-'):>18} {k.get('hung','-'):>5} {k.get('bad','-'):>4} {k.get('ticks','-'):>7}")
    warm = rows[min(2, len(rows) - 1)][2] if len(rows) > 1 else rows[0][2]
    peak_after = max(r[2] for r in rows[min(2, len(rows) - 1):])
    hung = max(int(r[3].get("hung", 0)) for r in rows)
    bad = max(int(r[3].get("bad", 0)) for r in rows)
    flat = peak_after <= warm * 1.15 + 2048
    # the node's own work never stalls: every report shows more spawns and timer ticks
    progress = all(int(b[3].get("spawned", 0)) > int(a[3].get("spawned", 0)) and
                   int(b[3].get("ticks", 0)) > int(a[3].get("ticks", 0)) for a, b in zip(rows, rows[1:]))
    print(f"soak: {echoed} echoes, {lost} lost, {wrong} wrong; hung callers {hung}, wrong answers {bad}; "
          f"RSS after warm-up {warm} KB, peak after {peak_after} KB ({'flat' if flat else 'GROWING'}); "
          f"{'churn and timers kept going' if progress else 'the churn or the timers STALLED'}")
    ok = lost == 0 and wrong == 0 and hung == 0 and bad == 0 and flat and progress and rows[-1][3]
    print(f"soak: {1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
