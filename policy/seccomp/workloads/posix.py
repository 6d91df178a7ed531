# The os module's everyday POSIX calls that the other workloads do not make.
import os, select, signal, time, sys, errno, fcntl, mmap, tempfile
print(os.getppid(), os.getpgrp(), os.getsid(0), os.umask(0o22), os.times().elapsed > 0, os.uname().sysname)
print(len(os.sched_getaffinity(0)), os.getpriority(os.PRIO_PROCESS, 0), os.nice(0), os.getloadavg()[0] >= 0)
r, w = os.pipe(); os.dup2(w, 10); os.close(10); d = os.dup(r); os.close(d)
os.writev(w, [b"a", b"b"]); print(os.readv(r, [bytearray(2)]))
print(select.select([r], [], [], 0)[0] == [r]); p = select.poll(); p.register(r); p.poll(0)
e = select.epoll(); e.register(r); e.poll(0); e.close()
fd, name = tempfile.mkstemp(); os.write(fd, b"x" * 100); os.fsync(fd); os.ftruncate(fd, 10); os.fchmod(fd, 0o644)
os.pwrite(fd, b"y", 0); os.lseek(fd, 0, 0); print(os.read(fd, 10), os.fstat(fd).st_size, os.statvfs("/tmp").f_bsize > 0)
fcntl.flock(fd, fcntl.LOCK_EX); fcntl.flock(fd, fcntl.LOCK_UN)
m = mmap.mmap(fd, 10); m[0:1] = b"z"; m.flush(); m.close()
os.utime(name, (1, 1)); os.truncate(name, 5); os.link(name, name + ".2"); os.unlink(name + ".2")
out = os.open(name + ".3", os.O_CREAT | os.O_WRONLY); os.sendfile(out, fd, 0, 5); os.copy_file_range(fd, out, 1, 0); os.close(out)
os.close(fd); os.remove(name); os.remove(name + ".3")
os.mkdir("/tmp/d"); os.makedirs("/tmp/d/e/f"); os.removedirs("/tmp/d/e/f")
print(os.access("/tmp", os.W_OK), os.path.realpath("/work"), list(os.scandir("/work"))[:1] != None)
got = []
signal.signal(signal.SIGUSR1, lambda *a: got.append(1)); os.kill(os.getpid(), signal.SIGUSR1); signal.pthread_kill(__import__("threading").get_ident(), signal.SIGUSR1)
signal.alarm(1); signal.alarm(0); signal.setitimer(signal.ITIMER_REAL, 0)
pid = os.fork()
if pid == 0:
    os.setsid(); time.sleep(10); os._exit(0)
os.kill(pid, signal.SIGTERM); print(os.waitpid(pid, 0)[1] & 0x7f, got)
try:
    os.setuid(1)
except OSError as exc:
    print("setuid", errno.errorcode[exc.errno])
print(time.time() > 0, time.process_time() >= 0, time.perf_counter() > 0, time.thread_time() >= 0)
print(open("/proc/self/status").read().count("\n") > 5, os.listdir("/proc/self/fd") != [])
sys.stdout.flush()
