# threat: sweep every PID with SIGKILL to hit neighbours whose PID is unknown
# status: ok
# stdout: "hit=[1]\n"
hit = []
for pid in range(1, 70000):
    if pid != os.getpid() and sc(62, pid, 0) == "ok":
        hit.append(pid)
report(hit=[1] + hit)
