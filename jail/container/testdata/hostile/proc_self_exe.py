# threat: CVE-2019-5736: overwrite the runtime/interpreter binary through /proc/self/exe or /proc/1/exe
# status: ok
# stdout: "self_exe=EACCES pid1_exe=EACCES interpreter=EROFS rename=EROFS\n"
report(self_exe=attempt(lambda: os.open("/proc/self/exe", os.O_WRONLY)),
       pid1_exe=attempt(lambda: os.open("/proc/1/exe", os.O_WRONLY)),
       interpreter=attempt(lambda: os.open(os.path.realpath(sys.executable), os.O_WRONLY | os.O_TRUNC)),
       rename=attempt(lambda: os.rename(os.path.realpath(sys.executable), "/usr/bin/x")))
