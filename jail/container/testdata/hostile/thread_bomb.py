# threat: thread bomb: every thread is a task, the pids cgroup caps them
# status: ok
# stdout: "capped=True\n"
import threading, time
n = 0
try:
    for _ in range(1000):
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        n += 1
except RuntimeError:
    pass
report(capped=n < 64)
os._exit(0)
