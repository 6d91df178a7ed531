# threat: CPU hog spread over forked processes: the budget counts the whole cgroup
# status: cpu_limit
# limits: cpu=500ms wall=20s
for _ in range(4):
    if os.fork() == 0:
        break
while True:
    pass
