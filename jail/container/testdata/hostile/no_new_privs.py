# threat: regain capabilities (capset) or clear no_new_privs before exec
# status: ok
# stdout: "capset=EPERM nnp=1 clear_nnp=EPERM caps=0000000000000000\n"
# prctl is not in the derived profiles (EPERM from the filter; the kernel says EINVAL under wide.json)
hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
data = (ctypes.c_uint32 * 6)(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)
capset = sc(126, ctypes.addressof(hdr), ctypes.addressof(data))
st = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
report(capset=capset, nnp=st["NoNewPrivs"].strip(), clear_nnp=sc(157, 38, 0, 0, 0, 0),
       caps=st["CapEff"].strip())
