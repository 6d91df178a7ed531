# threat: connect to the target jail's socket file by its host path
# status: ok
# stdout: "host_path=ENOENT own_tmp=ENOENT\n"
import socket
def conn(p):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    return attempt(lambda: s.connect(p))
report(host_path=conn("{{TARGET_WORK}}/target.sock"), own_tmp=conn("/tmp/target.sock"))
