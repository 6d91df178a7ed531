# threat: clone3(2) hides its flags in memory where seccomp cannot look
# status: ok
# stdout: "clone3_newuser=ENOSYS clone3_plain=ENOSYS\n"
args = (ctypes.c_uint64 * 11)()
args[0] = 0x10000000  # CLONE_NEWUSER
args[4] = 17          # exit_signal SIGCHLD
plain = (ctypes.c_uint64 * 11)()
plain[4] = 17
report(clone3_newuser=sc(435, ctypes.addressof(args), 88), clone3_plain=sc(435, ctypes.addressof(plain), 88))
