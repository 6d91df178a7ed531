# threat: inode exhaustion with empty files: the tmpfs caps nr_inodes
# status: ok
# stdout: "error=ENOSPC capped=True\n"
n, err = 0, None
try:
    while True:
        os.close(os.open(f"/tmp/i{n}", os.O_CREAT | os.O_WRONLY, 0o600))
        n += 1
except OSError as e:
    err = errno.errorcode[e.errno]
report(error=err, capped=n <= 16384)
