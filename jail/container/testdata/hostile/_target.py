# The target jail of the hostile suite: keeps secrets and listens; logs
# every connection, caught signal and change to its secrets on stdout.
import ctypes, os, select, signal, socket, sys, time
SECRET = b"{{SECRET}}"
for p in ("/tmp/secret", "/dev/shm/secret"):
    with open(p, "wb") as f:
        f.write(SECRET)
libc = ctypes.CDLL(None, use_errno=True)
shmid = libc.shmget(0x4a41494c, 4096, 0o1600)  # IPC_CREAT | 0600
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT):
    signal.signal(s, lambda n, f: print("SIGNAL", n, flush=True))
abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
abstract.bind("\0{{TARGET_SOCK}}")
abstract.listen(16)
filesock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
filesock.bind("/tmp/target.sock")
filesock.listen(16)
tcp = socket.socket()
tcp.bind(("127.0.0.1", 7777))
tcp.listen(16)
print("READY shm", shmid, flush=True)
while True:
    r, _, _ = select.select([abstract, filesock, tcp], [], [], 0.2)
    for s in r:
        c, _ = s.accept()
        print("CONNECTED", s, flush=True)
        c.close()
    for p in ("/tmp/secret", "/dev/shm/secret"):
        if open(p, "rb").read() != SECRET:
            print("SECRET CHANGED", p, flush=True)
