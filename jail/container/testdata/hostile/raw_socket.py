# threat: raw and packet sockets to sniff or forge traffic
# status: ok
# stdout: "raw=EPERM packet=EPERM netlink_route_write=EPERM\n"
import socket
def mk(*a):
    return attempt(lambda: socket.socket(*a))
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
# RTM_NEWLINK request to create a dummy link: needs CAP_NET_ADMIN
msg = (32).to_bytes(4, "little") + (16).to_bytes(2, "little") + (0x401 | 0x200 | 0x400).to_bytes(2, "little") + b"\0" * 24
nl.send(msg)
resp = nl.recv(4096)
err = -int.from_bytes(resp[16:20], "little", signed=True)
report(raw=mk(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), packet=mk(socket.AF_PACKET, socket.SOCK_RAW, 0),
       netlink_route_write=errno.errorcode.get(err, err))
