# threat: /proc/1/root and /proc/<host pid>/root as a way back to the host's filesystem
# status: ok
# stdout: "sentinel=ENOENT via_daemon=ENOENT target_tmp=ENOENT pid1_is_self=True\n"
report(sentinel=attempt(lambda: open("/proc/1/root{{SENTINEL}}")),
       via_daemon=attempt(lambda: open("/proc/{{DAEMON_PID}}/root{{SENTINEL}}")),
       target_tmp=attempt(lambda: open("/proc/{{TARGET_PID}}/root/tmp/secret")),
       pid1_is_self=os.getpid() == 1)
