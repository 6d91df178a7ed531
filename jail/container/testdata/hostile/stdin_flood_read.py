# threat: a huge stdin read in full: delivered intact, no host buffering blowup
# status: ok
# stdout: "16777216\n"
# stdin: 16MiB
print(len(sys.stdin.buffer.read()))
