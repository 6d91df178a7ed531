# threat: move itself out of its cgroup or raise its own limits
# status: ok
# stdout: "cgroup=0::/ fs_cgroup=False release_agent=ENOENT\n"
cg = open("/proc/self/cgroup").read().splitlines()
report(cgroup=[l for l in cg if l.startswith("0::")][0], fs_cgroup=os.path.exists("/sys/fs/cgroup"),
       release_agent=attempt(lambda: open("/sys/fs/cgroup/memory/release_agent", "w")))
