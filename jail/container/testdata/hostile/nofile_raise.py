# threat: raise the fd and file-size rlimits past the jail's caps
# status: ok
# stdout: "nofile=ValueError fsize=ValueError\n"
import resource
def raise_(r):
    try:
        resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        return "ok"
    except ValueError:
        return "ValueError"
    except OSError as e:
        return errno.errorcode[e.errno]
report(nofile=raise_(resource.RLIMIT_NOFILE), fsize=raise_(resource.RLIMIT_FSIZE))
