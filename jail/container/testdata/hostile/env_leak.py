# threat: host environment (tokens, paths) leaking into the jail
# status: ok
# stdout: "HOME,LANG,PATH,TMPDIR uid=0 gid=0 groups=[]\n"
# no PYTHONUNBUFFERED since Python runs with -u (it was dead under -E)
print(",".join(sorted(os.environ)), f"uid={os.getuid()} gid={os.getgid()} groups={os.getgroups()}")
