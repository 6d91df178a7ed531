# threat: hardlink rootfs or host files into the work dir so cleanup or a later reader touches them
# status: ok
# stdout: "passwd=EXDEV interpreter=EXDEV sentinel=ENOENT\n"
report(passwd=attempt(lambda: os.link("/etc/passwd", "/work/passwd")),
       interpreter=attempt(lambda: os.link(os.path.realpath(sys.executable), "/tmp/py")),
       sentinel=attempt(lambda: os.link("{{SENTINEL}}", "/tmp/s")))
