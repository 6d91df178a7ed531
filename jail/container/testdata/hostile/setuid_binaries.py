# threat: a setuid/setgid binary in the rootfs, or a self-made one, grants privilege
# status: ok
# stdout: "setuid_files=0 setuid_1000=EINVAL chmod_suid=ok exec_suid=EACCES\n"
import shutil, stat
n = 0
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/dev")):
        dirs[:] = []
        continue
    for f in files:
        try:
            if os.lstat(os.path.join(root, f)).st_mode & (stat.S_ISUID | stat.S_ISGID):
                n += 1
        except OSError:
            pass
shutil.copy(sys.executable, "/tmp/py")
report(setuid_files=n, setuid_1000=attempt(lambda: os.setuid(1000)),
       chmod_suid=attempt(lambda: os.chmod("/tmp/py", 0o4755)),
       exec_suid=attempt(lambda: os.execv("/tmp/py", ["py", "-c", "1"])))
