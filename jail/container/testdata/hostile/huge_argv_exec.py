# threat: execve with a huge argv to overflow the kernel's arg copy: E2BIG
# status: ok
# stdout: "execv=E2BIG\n"
report(execv=attempt(lambda: os.execv(sys.executable, ["python3"] + ["a" * 100000] * 100)))
