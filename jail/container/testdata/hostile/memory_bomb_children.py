# threat: memory spread over many processes: the cgroup counts them together and OOM-kills
# status: oom
import time
kids = []
for _ in range(16):
    pid = os.fork()
    if pid == 0:
        b = b"x" * (24 << 20)
        time.sleep(60)
        os._exit(0)
    kids.append(pid)
for _ in kids:
    _, st = os.wait()  # whichever child ends first: the OOM killer picks one
    if os.WIFSIGNALED(st) and os.WTERMSIG(st) == 9:
        os._exit(137)  # a child was OOM-killed: fail like a shell would
