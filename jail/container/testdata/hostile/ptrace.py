# threat: ptrace(2) to inject code into another process (attach, seize, traceme)
# status: ok
# stdout: "traceme=EPERM attach=EPERM seize=EPERM attach_target=EPERM\n"
import time
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
report(traceme=sc(101, 0, 0, 0, 0), attach=sc(101, 16, pid, 0, 0), seize=sc(101, 0x4206, pid, 0, 0),
       attach_target=sc(101, 16, {{TARGET_PID}}, 0, 0))
os.kill(pid, 9)
