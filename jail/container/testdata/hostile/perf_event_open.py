# threat: perf_event_open(2): side channels and a long history of kernel bugs
# status: ok
# stdout: "self=EPERM cpu_wide=EPERM\n"
attr = ctypes.create_string_buffer(128)
ctypes.memmove(attr, (ctypes.c_uint32 * 2)(1, 128), 8)  # PERF_TYPE_SOFTWARE, size
report(self=sc(298, attr, 0, -1, -1, 0), cpu_wide=sc(298, attr, -1, 0, -1, 0))
