# threat: the syscall instruction from mmap'd machine code, bypassing libc entirely
# status: ok
# stdout: "mount=-1 unshare=-1 getpid=1\n"
import mmap
def raw(nr, a1=0):
    # mov rax,nr; mov rdi,a1; xor esi,esi; xor edx,edx; syscall; ret
    code = b"\x48\xc7\xc0" + nr.to_bytes(4, "little") + b"\x48\xbf" + a1.to_bytes(8, "little") + \
        b"\x31\xf6\x31\xd2\x0f\x05\xc3"
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(code)
    return ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))()
report(mount=raw(165), unshare=raw(272, 0x10000000), getpid=raw(39))  # -1 is -EPERM
