# threat: read host secrets (/etc/shadow, the sentinel, /root) from the rootfs view
# status: ok
# stdout: "sentinel=ENOENT root_dir=ENOENT host_marker=ENOENT\n"
report(sentinel=attempt(lambda: open("{{SENTINEL}}").read()), root_dir=attempt(lambda: os.listdir("/root/.ssh")),
       host_marker=attempt(lambda: open("{{HOST_PATH}}", "w")))
