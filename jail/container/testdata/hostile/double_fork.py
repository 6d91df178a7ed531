# threat: double fork: a grandchild reparented away from the script outlives the run
# status: ok
# stdout: "parent done\n"
import time
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
    os._exit(0)
time.sleep(0.2)
print("parent done")
