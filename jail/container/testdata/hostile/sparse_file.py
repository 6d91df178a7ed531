# threat: a huge sparse file to fill the host disk later: RLIMIT_FSIZE refuses it
# status: ok
# stdout: "truncate=EFBIG\n"
import signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
fd = os.open("/tmp/sparse", os.O_CREAT | os.O_WRONLY, 0o600)
report(truncate=attempt(lambda: os.ftruncate(fd, 100 << 30)))
