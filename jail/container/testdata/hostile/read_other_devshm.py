# threat: read the target jail's /dev/shm and SysV shared memory
# status: ok
# stdout: "devshm=[] sysv_shmget=ENOENT\n"
report(devshm=sorted(os.listdir("/dev/shm")), sysv_shmget=sc(29, 0x4a41494c, 4096, 0))
