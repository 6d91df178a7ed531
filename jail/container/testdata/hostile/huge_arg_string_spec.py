# threat: one argv word above MAX_ARG_STRLEN: refused up front instead of exiting 255 in runc init
# status: internal_error
# error: exceeds the kernel
# args: 1x200000
print("never")
