# threat: io_uring performs I/O the seccomp filter never sees
# status: ok
# stdout: "setup=EPERM enter=EPERM register=EPERM\n"
params = ctypes.create_string_buffer(120)
report(setup=sc(425, 8, params), enter=sc(426, 3, 1, 0, 0, 0, 0), register=sc(427, 3, 0, 0, 0))
