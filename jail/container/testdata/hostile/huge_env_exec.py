# threat: execve with one environment string above MAX_ARG_STRLEN: E2BIG
# status: ok
# stdout: "execve=E2BIG\n"
report(execve=attempt(lambda: os.execve(sys.executable, ["python3", "-c", "1"], {"X": "b" * 200000})))
