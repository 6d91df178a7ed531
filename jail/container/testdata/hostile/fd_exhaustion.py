# threat: file-descriptor exhaustion: RLIMIT_NOFILE caps the jail at 256
# status: ok
# stdout: "error=EMFILE capped=True\n"
fds, err = [], None
try:
    while True:
        fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    err = errno.errorcode[e.errno]
report(error=err, capped=len(fds) < 256)
