# threat: unbounded fork bomb exhausts the host's process table
# status: timeout
# signal: SIGKILL
# limits: wall=1500ms cpu=60s
while True:
    try:
        os.fork()
    except OSError:
        pass
