#!/usr/bin/env python3
"""A line-protocol server for the socketchannel tests (loopback, one thread per connection).

usage: lineserver.py PORTFILE
Binds 127.0.0.1 on a free port, writes the port to PORTFILE, then serves until it is killed
(run.sh stops it by PID). Each request is one line; replies are lines:
  AUTH <pw>            -> "OK" when pw is "good", else "BAD" and the connection is closed
  ECHO <text>          -> "<text>"
  DROP                 -> the connection is closed, no reply
  HANG                 -> no reply (the connection stays open)
  PARTS <n>            -> n lines "more <i>", then "end"
  SESS <id> <ms> <txt> -> after <ms> milliseconds, "<id> <txt>" (replies may overtake)
  HOLD <id> <txt>      -> nothing yet: "<id> <txt>" waits for a RELEASE naming <id>
  RELEASE <id> <ids>   -> the held replies of <ids> (comma-separated) in that order, then
                          "<id> released"
  CONNS                -> the number of connections accepted so far
  SPARTS <id> <n>      -> n lines "<id> + p<i>", then "<id> . end" (a reply in parts)
  PAUSE <ms>           -> nothing is read from this connection for <ms> milliseconds
  IGNORE <anything>    -> no reply
  *<anything>          -> "?bad" and CRLF (what a redis client would take as a malformed reply)
"""
import socket
import sys
import threading
import time

accepted = 0
lock = threading.Lock()


def serve(conn):
    wlock = threading.Lock()

    def send(line):
        with wlock:
            try:
                conn.sendall(line.encode() + b"\n")
            except OSError:
                pass

    def later(ms, line):
        time.sleep(ms / 1000.0)
        send(line)

    held = {}
    f = conn.makefile("rb")
    try:
        for raw in f:
            parts = raw.decode().rstrip("\n").split(" ", 3)
            cmd = parts[0]
            if cmd.startswith("*"):
                send("?bad\r")
            elif cmd == "AUTH":
                if len(parts) > 1 and parts[1] == "good":
                    send("OK")
                else:
                    send("BAD")
                    break
            elif cmd == "ECHO":
                send(raw.decode().rstrip("\n")[5:])
            elif cmd == "DROP":
                break
            elif cmd == "HANG":
                pass
            elif cmd == "PARTS":
                for i in range(int(parts[1])):
                    send("more %d" % (i + 1))
                send("end")
            elif cmd == "SESS":
                threading.Thread(target=later, args=(int(parts[2]), parts[1] + " " + parts[3]),
                                 daemon=True).start()
            elif cmd == "HOLD":
                held[parts[1]] = parts[1] + " " + parts[2]
            elif cmd == "RELEASE":
                for sid in parts[2].split(","):
                    send(held.pop(sid, sid + " never held"))
                send(parts[1] + " released")
            elif cmd == "SPARTS":
                for i in range(int(parts[2])):
                    send("%s + p%d" % (parts[1], i + 1))
                send(parts[1] + " . end")
            elif cmd == "PAUSE":
                time.sleep(int(parts[1]) / 1000.0)
            elif cmd == "IGNORE":
                pass
            elif cmd == "CONNS":
                with lock:
                    send(str(accepted))
            else:
                send("ERR unknown")
    except OSError:
        pass
    finally:
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()


def main():
    global accepted
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(sys.argv[1] + ".tmp", "w") as out:
        out.write(str(srv.getsockname()[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        conn, _ = srv.accept()
        with lock:
            accepted += 1
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
