# garbage.py port: bad packets thrown at a cluster port; each connection must be closed by the
# node. Prints one line per case: "closed <case>" or "OPEN <case>".
import socket, struct, sys

port = int(sys.argv[1])
cases = {
    "unknown-type": struct.pack(">H", 5) + b"\xff\xff\xff\xff\xff",
    "truncated-request": struct.pack(">H", 3) + b"\x00\x01\x02",
    "empty-packet": struct.pack(">H", 0) + struct.pack(">H", 1) + b"\x00",
    # a large request announcing 100 bytes, then a 200-byte part
    "oversize-part": struct.pack(">H", 13) + b"\x01" + struct.pack("<III", 1, 7, 100)
        + struct.pack(">H", 205) + b"\x02" + struct.pack("<I", 7) + b"x" * 200,
    "part-without-header": struct.pack(">H", 9) + b"\x03" + struct.pack("<I", 9) + b"abcd",
}
for name, data in cases.items():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    try:
        closed = s.recv(100) == b""
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        closed = False
    print(("closed " if closed else "OPEN ") + name)
    s.close()
