# threat: endless output: the pipe keeps draining and the wall clock ends it
# status: timeout
# signal: SIGKILL
# limits: wall=1s output=4096
chunk = b"\xff" * 65536
while True:
    sys.stdout.buffer.write(chunk)
    sys.stderr.buffer.write(chunk)
