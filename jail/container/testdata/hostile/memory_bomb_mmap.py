# threat: anonymous mmap touched page by page, bypassing the allocator
# status: oom
import mmap
maps = []
while True:
    m = mmap.mmap(-1, 16 << 20)
    for i in range(0, len(m), 4096):
        m[i] = 1
    maps.append(m)
