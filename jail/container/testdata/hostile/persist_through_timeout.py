# threat: SIGTERM-ignoring children while the parent runs into the wall clock
# status: timeout
# signal: SIGKILL
# limits: wall=800ms
import signal, time
for _ in range(5):
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(1)
while True:
    time.sleep(1)
