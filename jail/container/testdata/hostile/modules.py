# threat: load or unload a kernel module (init_module, finit_module, delete_module)
# status: ok
# stdout: "init_module=EPERM finit_module=EPERM delete_module=EPERM\n"
img = ctypes.create_string_buffer(b"\x7fELF" + b"\0" * 60)
fd = os.open(sys.executable, os.O_RDONLY)
report(init_module=sc(175, img, 64, b""), finit_module=sc(313, fd, b"", 0), delete_module=sc(176, b"ext4", 0))
