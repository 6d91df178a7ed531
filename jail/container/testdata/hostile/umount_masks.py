# threat: unmount the masks over /proc/kcore, /proc/keys … to read host kernel state
# status: ok
# stdout: "kcore=EPERM proc=EPERM sys=EPERM kcore_len=0\n"
report(kcore=sc(166, b"/proc/kcore", 2), proc=sc(166, b"/proc", 2), sys=sc(166, b"/proc/sys", 2),
       kcore_len=len(open("/proc/kcore", "rb").read(4096)) if os.path.exists("/proc/kcore") else 0)
