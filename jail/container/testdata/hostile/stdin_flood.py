# threat: a huge stdin the script never reads: the host writer must not block the run
# status: ok
# stdout: "ignored\n"
# stdin: 16MiB
print("ignored")
