# threat: a request whose argv exceeds ARG_MAX: refused before any jail is built, nothing left behind
# status: internal_error
# error: argv and env take
# args: 100x100000
print("never")
