# threat: a classic daemon (fork, setsid, fork, close fds) survives the run
# status: ok
# stdout: "parent done\n"
import time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.chdir("/")
        for fd in range(3):
            os.close(fd)
        time.sleep(60)
    os._exit(0)
time.sleep(0.2)
print("parent done")
