# threat: memory bomb exhausts host RAM: the memory cgroup OOM-kills it
# status: oom
chunks = []
while True:
    chunks.append(bytearray(16 << 20))
