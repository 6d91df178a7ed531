# threat: bpf(2) programs and maps (verifier bugs are a recurring kernel LPE)
# status: ok
# stdout: "map_create=EPERM prog_load=EPERM\n"
attr = ctypes.create_string_buffer(128)
report(map_create=sc(321, 0, attr, 128), prog_load=sc(321, 5, attr, 128))
