# threat: fill /dev/shm to exhaust host memory: its tmpfs is capped
# status: ok
# stdout: "error=ENOSPC capped=True\n"
written, err, i = 0, None, 0
try:
    while True:
        with open(f"/dev/shm/fill{i}", "wb") as f:
            for _ in range(8):
                f.write(b"x" * (1 << 20))
                written += 1 << 20
        i += 1
except OSError as e:
    err = errno.errorcode[e.errno]
report(error=err, capped=written <= 64 << 20)
