# threat: the main process dies by a signal while children keep running
# status: signaled
# signal: SIGSEGV
# stdout: ""
import time
for _ in range(3):
    if os.fork() == 0:
        time.sleep(60)
ctypes.string_at(0)
