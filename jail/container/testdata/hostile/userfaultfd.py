# threat: userfaultfd(2) to stall the kernel mid-copy and win a race
# status: ok
# stdout: "userfaultfd=EPERM dev_userfaultfd=ENOENT\n"
report(userfaultfd=sc(323, 0), dev_userfaultfd=attempt(lambda: os.open("/dev/userfaultfd", os.O_RDWR)))
