# threat: signal the daemon's process or every process (-1) on the host
# status: ok
# stdout: "daemon_kill=ESRCH daemon_stop=ESRCH all=ESRCH pidfd=EPERM\n"
# pidfd_open is not in the derived profiles (EPERM from the filter; ESRCH under wide.json)
report(daemon_kill=sc(62, {{DAEMON_PID}}, 9), daemon_stop=sc(62, {{DAEMON_PID}}, 19),
       all=sc(62, -1, 9), pidfd=sc(434, {{DAEMON_PID}}, 0))
