# threat: jail-made symlinks in /work and /tmp that the daemon might follow when cleaning up or reading
# status: ok
# stdout: "write_through=ENOENT\n"
for name, dst in [("/work/main.py.link", "{{SENTINEL}}"), ("/work/dir", "{{SENTINEL_DIR}}"),
                  ("/tmp/dir", "{{SENTINEL_DIR}}"), ("/tmp/host", "{{HOST_PATH}}"),
                  ("/work/up", "../../../../../.."), ("/tmp/root", "/")]:
    os.symlink(dst, name)
os.mkdir("/work/sub")
os.symlink("{{SENTINEL_DIR}}", "/work/sub/keep")
os.unlink("/work/main.py")
os.symlink("{{SENTINEL}}", "/work/main.py")
report(write_through=attempt(lambda: open("/tmp/host", "w")))
