# threat: CVE-2019-5736 variant: keep an O_PATH fd to /proc/self/exe, reopen it writable after exec
# status: ok
# stdout: "reopen=EACCES\n"
fd = os.open("/proc/self/exe", os.O_PATH)
report(reopen=attempt(lambda: os.open(f"/proc/self/fd/{fd}", os.O_WRONLY)))
