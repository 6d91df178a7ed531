# threat: kill, stop or signal the target jail's processes by their host PID
# status: ok
# stdout: "kill=ESRCH stop=ESRCH term=ESRCH tgkill=ESRCH sigqueue=EPERM\n"
# rt_sigqueueinfo is not in the derived profiles (EPERM from the filter; ESRCH under wide.json)
info = (ctypes.c_int * 32)(10, 0, -1)  # si_signo SIGUSR1, si_code SI_QUEUE
report(kill=sc(62, {{TARGET_PID}}, 9), stop=sc(62, {{TARGET_PID}}, 19), term=sc(62, {{TARGET_PID}}, 15),
       tgkill=sc(234, {{TARGET_PID}}, {{TARGET_PID}}, 9), sigqueue=sc(129, {{TARGET_PID}}, 10, info))
