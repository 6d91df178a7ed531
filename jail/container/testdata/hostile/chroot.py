# threat: the classic chroot escape (chroot into a subdir, chdir .. out) and pivot_root
# status: ok
# stdout: "chroot=EPERM pivot_root=EPERM fchdir_out=/\n"
os.mkdir("/tmp/c")
fd = os.open("/", os.O_RDONLY)
r = sc(161, b"/tmp/c")
os.fchdir(fd)
for _ in range(20):
    os.chdir("..")
report(chroot=r, pivot_root=sc(155, b"/tmp", b"/tmp/c"), fchdir_out=os.getcwd())
