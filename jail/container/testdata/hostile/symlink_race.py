# threat: swap /work entries for symlinks to host paths in a loop while the runner tears the jail down
# status: timeout
# signal: SIGKILL
# limits: wall=1s
for i in range(3):
    if os.fork() == 0:
        n = 0
        while True:
            for p, dst in (("/work/race", "{{SENTINEL_DIR}}"), ("/tmp/race", "{{SENTINEL}}"), ("/work/main.py", "{{HOST_PATH}}")):
                try:
                    os.unlink(p)
                except OSError:
                    pass
                try:
                    if n % 2:
                        os.symlink(dst, p)
                    else:
                        os.mkdir(p)
                except OSError:
                    pass
                if os.path.isdir(p) and not os.path.islink(p):
                    os.rmdir(p)
            n += 1
while True:
    pass
