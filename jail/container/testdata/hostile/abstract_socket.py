# threat: abstract unix sockets to reach the target jail or a host service (no path, no filesystem check)
# status: ok
# stdout: "target=ECONNREFUSED host=ECONNREFUSED dbus=ECONNREFUSED\n"
import socket
def conn(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    return attempt(lambda: s.connect(name))
report(target=conn("\0{{TARGET_SOCK}}"), host=conn("\0{{HOST_SOCK}}"),
       dbus=conn("\0/tmp/dbus-jaild"))
