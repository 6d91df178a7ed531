# threat: write host kernel knobs through /proc/sys, /proc/sysrq-trigger and core_pattern
# status: ok
# stdout: "hostname=EROFS core_pattern=EROFS drop_caches=EROFS sysrq=ENOENT\n"
def w(p, v):
    return attempt(lambda: open(p, "w").write(v))
report(hostname=w("/proc/sys/kernel/hostname", "pwned"), core_pattern=w("/proc/sys/kernel/core_pattern", "|/tmp/x"),
       drop_caches=w("/proc/sys/vm/drop_caches", "3"), sysrq=w("/proc/sysrq-trigger", "b"))  # absent on this kernel build: ENOENT
