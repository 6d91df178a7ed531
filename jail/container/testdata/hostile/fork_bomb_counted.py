# threat: fork bomb: the pids cgroup must refuse the 64th task with EAGAIN
# status: ok
# stdout: "capped=True refused=True\n"
import time
made = refused = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        made += 1
    except BlockingIOError:
        refused += 1
report(capped=made < 64, refused=refused > 0)
