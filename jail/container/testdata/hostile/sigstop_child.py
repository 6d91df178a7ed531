# threat: a SIGSTOP'd child (frozen tasks ignore everything but SIGKILL) survives the run
# status: ok
# stdout: "stopped=True\n"
import signal, time
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(60)
    os._exit(0)
_, st = os.waitpid(pid, os.WUNTRACED)
report(stopped=os.WIFSTOPPED(st))
