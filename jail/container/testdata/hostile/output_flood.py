# threat: output flood to exhaust the daemon's memory: the head is kept, the rest counted
# status: ok
# stdout_len: 1000
# dropped: 49999000
# limits: output=1000
chunk = b"y" * (1 << 20)
for _ in range(47):
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.write(b"y" * (50_000_000 - 47 * (1 << 20)))
