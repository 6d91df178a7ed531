# threat: kernel keyrings (keyctl/add_key/request_key) are not namespaced: reach host keys
# status: ok
# stdout: "keyctl_join=EPERM keyctl_read=EPERM add_key=EPERM request_key=EPERM\n"
report(keyctl_join=sc(250, 1, 0), keyctl_read=sc(250, 11, -3, 0, 0),
       add_key=sc(248, b"user", b"jaild", b"data", 4, -3), request_key=sc(249, b"user", b"jaild", 0, 0))
