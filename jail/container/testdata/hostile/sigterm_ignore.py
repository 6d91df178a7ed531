# threat: children that ignore SIGTERM/SIGHUP/SIGINT and block every catchable signal
# status: ok
# stdout: "parent done\n"
import signal, time
for _ in range(5):
    if os.fork() == 0:
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1):
            signal.signal(s, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})
        time.sleep(60)
        os._exit(0)
time.sleep(0.2)
print("parent done")
