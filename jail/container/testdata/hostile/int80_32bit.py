# threat: 32-bit int 0x80 entry uses the i386 table, which a native-only filter must not let through
# status: signaled
# signal: SIGSYS
# signal_without_int80: SIGSEGV
# stdout: ""
import mmap
# i386 mount is 21: mov eax,21; xor ebx,ebx; xor ecx,ecx; int 0x80; ret
code = bytes([0xb8, 21, 0, 0, 0, 0x31, 0xdb, 0x31, 0xc9, 0xcd, 0x80, 0xc3])
buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(code)
f = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))
print("int80 mount returned", f(), flush=True)
