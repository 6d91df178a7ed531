# threat: the "shocker" escape: open_by_handle_at with a guessed host inode handle
# status: ok
# stdout: "name_to_handle_at=EPERM open_by_handle_at=EPERM\n"
h = ctypes.create_string_buffer(8 + 128)
ctypes.memmove(h, (ctypes.c_uint32 * 2)(8, 1), 8)
mid = ctypes.c_int()
report(name_to_handle_at=sc(303, -100, b"/", h, ctypes.addressof(mid), 0),
       open_by_handle_at=sc(304, os.open("/", os.O_RDONLY), h, 0))
