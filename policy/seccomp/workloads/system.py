# Threads, processes, files, sockets, signals, asyncio, sqlite, ctypes.
import asyncio, concurrent.futures, ctypes, os, resource, selectors, signal, socket, sqlite3
import subprocess, sys, tempfile, threading, time, multiprocessing, shutil, queue

def work(n):
    return sum(range(n))

with concurrent.futures.ThreadPoolExecutor(4) as ex:
    print(sum(ex.map(work, [1000] * 8)))
q = queue.Queue(); t = threading.Thread(target=lambda: q.put(time.monotonic())); t.start(); t.join(); q.get()
print(subprocess.run([sys.executable, "-c", "print('child')"], capture_output=True, text=True).stdout.strip())
pid = os.fork()
if pid == 0:
    os._exit(7)
print(os.waitpid(pid, 0)[1] >> 8)
with multiprocessing.Pool(2) as p:
    print(p.map(work, [10, 20]))
d = tempfile.mkdtemp()
with open(os.path.join(d, "a.txt"), "w") as f:
    f.write("hello")
os.chmod(os.path.join(d, "a.txt"), 0o600)
shutil.copy(os.path.join(d, "a.txt"), os.path.join(d, "b.txt"))
os.rename(os.path.join(d, "b.txt"), os.path.join(d, "c.txt"))
print(sorted(os.listdir(d)), os.stat(d).st_mode > 0, os.getcwd())
os.symlink("a.txt", os.path.join(d, "l")); os.readlink(os.path.join(d, "l"))
shutil.rmtree(d)
db = sqlite3.connect("/tmp/t.db"); db.execute("create table t(x)"); db.execute("insert into t values (1)"); db.commit()
print(db.execute("select count(*) from t").fetchone()[0]); db.close()
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()
cli.sendall(b"ping"); print(conn.recv(4)); cli.close(); conn.close(); srv.close()
a, b = socket.socketpair(); a.send(b"x"); b.recv(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); u.sendto(b"u", u.getsockname()); u.recv(1)
sel = selectors.DefaultSelector(); sel.register(a, selectors.EVENT_WRITE); sel.select(0)

async def main():
    async def handle(r, w):
        w.write(await r.read(4)); await w.drain(); w.close()
    s = await asyncio.start_server(handle, "127.0.0.1", 0)
    r, w = await asyncio.open_connection(*s.sockets[0].getsockname())
    w.write(b"pong"); await w.drain(); print(await r.read(4)); w.close()
    s.close(); await asyncio.sleep(0.01)
asyncio.run(main())
fired = []
signal.signal(signal.SIGALRM, lambda *a: fired.append(1)); signal.setitimer(signal.ITIMER_REAL, 0.01); time.sleep(0.05)
print(fired, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0, os.cpu_count())
libc = ctypes.CDLL(None); print(libc.getpid())
print(sys.stdin.read())
sys.exit(3)
