# threat: many orphaned, un-reaped zombies and living grandchildren at exit
# status: ok
# stdout: "made=20\n"
import time
n = 0
for _ in range(20):
    if os.fork() == 0:
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    n += 1
report(made=n)
