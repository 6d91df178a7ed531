# threat: host environment (tokens, paths) leaking into the jail
# status: ok
# stdout: "HOME,LANG,PATH,PYTHONUNBUFFERED,TMPDIR uid=0 gid=0 groups=[]\n"
print(",".join(sorted(os.environ)), f"uid={os.getuid()} gid={os.getgid()} groups={os.getgroups()}")
