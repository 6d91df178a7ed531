# threat: read the target jail's /dev/shm and SysV shared memory
# status: ok
# stdout: "devshm=[] sysv_shmget=EPERM\n"
# SysV shm is not in the derived profiles (EPERM from the filter; ENOENT under wide.json)
report(devshm=sorted(os.listdir("/dev/shm")), sysv_shmget=sc(29, 0x4a41494c, 4096, 0))
