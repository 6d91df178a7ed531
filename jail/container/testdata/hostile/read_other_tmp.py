# threat: read the target jail's /tmp secret by host path, /proc, or its own /tmp
# status: ok
# stdout: "host_path=ENOENT proc=ENOENT own_tmp=[]\n"
report(host_path=attempt(lambda: open("{{TARGET_WORK}}/secret").read()),
       proc=attempt(lambda: open("/proc/{{TARGET_PID}}/root/tmp/secret").read()),
       own_tmp=sorted(os.listdir("/tmp")))
