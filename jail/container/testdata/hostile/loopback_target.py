# threat: reach the target jail's TCP listener on 127.0.0.1 (each jail has its own loopback)
# status: ok
# stdout: "tcp=ECONNREFUSED\n"
import socket
s = socket.socket()
s.settimeout(2)
report(tcp=attempt(lambda: s.connect(("127.0.0.1", 7777))))
