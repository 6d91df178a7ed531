# A harmless script: jaild run prints its output and the verdict.
import os, platform, socket

print(f"hello from {socket.gethostname()}: uid {os.getuid()}, pid {os.getpid()}, python {platform.python_version()}")
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1)
except OSError as e:
    print("network:", e.strerror)
try:
    open("/usr/new-file", "w")
except OSError as e:
    print("rootfs:", e.strerror)
