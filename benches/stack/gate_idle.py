#!/usr/bin/env python3
"""Idle-connection memory: start a node running the gate bench, read its VmRSS, connect N
idle TCP clients, wait until the watchdog has accepted all of them, read VmRSS again.
Usage: gate_idle.py <skynet binary> <config> <port> <clients>
Prints: BENCH gate_rss_before_kb <kb> / gate_rss_after_kb <kb> / gate_bytes_per_conn <bytes>"""
import os, resource, socket, subprocess, sys, time

binary, config, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count * 2 + 256)), hard))

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

node = subprocess.Popen([binary, config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
deadline = time.time() + 30

def wait_for(marker):
    for line in node.stdout:
        if marker(line):
            return True
        if time.time() > deadline:
            break
    return False

clients = []
try:
    if not wait_for(lambda l: "BENCH gate_ready" in l):
        sys.exit("gate never became ready")
    time.sleep(0.5)  # let the node settle before the baseline (not a synchronisation)
    before = rss_kb(node.pid)
    for _ in range(count):
        clients.append(socket.create_connection(("127.0.0.1", port)))
    if not wait_for(lambda l: l.strip().endswith("BENCH gate_clients %d" % count)):
        sys.exit("watchdog did not see every client")
    time.sleep(0.5)
    after = rss_kb(node.pid)
    print("BENCH gate_rss_before_kb %d" % before)
    print("BENCH gate_rss_after_kb %d" % after)
    print("BENCH gate_bytes_per_conn %.1f" % ((after - before) * 1024.0 / count))
finally:
    for c in clients:
        c.close()
    node.kill()
    node.wait()
