# threat: a child re-execs with a new argv (hiding from argv-based cleanup) and stays
# status: ok
# stdout: "parent done\n"
import time
if os.fork() == 0:
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", sys.argv[1]])
time.sleep(0.3)
print("parent done")
