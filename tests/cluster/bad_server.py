# bad_server.py port: a "cluster node" that answers every request with a malformed reply
# frame (too short to hold a session), then keeps the connection open. Runs until killed.
import socket, struct, sys, threading

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(8)
print("listening", flush=True)

def serve(c):
    try:
        while c.recv(65536):
            c.sendall(struct.pack(">H", 3) + b"bad")
    except OSError:
        pass

while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
