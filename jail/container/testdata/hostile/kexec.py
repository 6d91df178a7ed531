# threat: kexec_load/kexec_file_load to boot another kernel
# status: ok
# stdout: "kexec_load=EPERM kexec_file_load=EPERM reboot=EPERM\n"
report(kexec_load=sc(246, 0, 0, 0, 0), kexec_file_load=sc(320, 0, 0, 0, 0, 0),
       reboot=sc(169, 0xfee1dead, 672274793, 0x01234567, 0))
