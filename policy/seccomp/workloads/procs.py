# Concurrency of ordinary scripts: threads, queues, executors,
# multiprocessing with fork (Pool, Queue, Lock, Semaphore, Event, Manager-free),
# subprocess pipes, asyncio timers and streams, process groups.
import asyncio, concurrent.futures, multiprocessing as mp, os, queue, signal, subprocess, sys, threading, time

def sq(x):
    return x * x

def child(q, lock, sem, ev):
    with lock, sem:
        q.put(os.getpid() > 0)
    ev.set()

if __name__ == "__main__":
    mp.set_start_method("fork")
    q = queue.Queue(); lk = threading.Lock(); cv = threading.Condition(); sem = threading.BoundedSemaphore(2)
    def worker(i):
        with sem, lk:
            q.put(i)
        with cv:
            cv.notify_all()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sorted(q.get() for _ in range(8)) == list(range(8)), threading.active_count())
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        print(list(ex.map(sq, range(5))))
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        print(list(ex.map(sq, range(5))))
    with mp.Pool(2) as pool:
        print(pool.map(sq, range(4)), pool.apply_async(sq, (7,)).get(10))
    mq, ml, ms, me = mp.Queue(), mp.Lock(), mp.Semaphore(1), mp.Event()
    pr = mp.Process(target=child, args=(mq, ml, ms, me)); pr.start(); print(mq.get(timeout=10), me.wait(10)); pr.join()
    a, b = mp.Pipe(); pr = mp.Process(target=lambda c: c.send(mp.current_process().pid > 0), args=(b,)); pr.start(); print(a.recv()); pr.join()
    v = mp.Value("i", 0); arr = mp.Array("d", 3); print(v.value, len(arr))
    out = subprocess.run([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], input="hi", capture_output=True, text=True, timeout=20)
    print(out.stdout.strip(), out.returncode)
    p = subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(5)"], start_new_session=True)
    p.terminate(); print(p.wait(10))
    print(subprocess.check_output([sys.executable, "-c", "print(42)"]).strip())
    p = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(4)"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, close_fds=True)
    p.communicate(timeout=20); print(p.returncode)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0); os._exit(5)
    print(os.waitpid(pid, 0)[1] >> 8, os.waitstatus_to_exitcode(0))
    pid = os.fork()
    if pid == 0:
        os._exit(6)
    print(os.waitid(os.P_PID, pid, os.WEXITED).si_status)
    r, w = os.pipe(); pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, lambda *a: os._exit(8)); os.write(w, b"r"); signal.pause()
    os.read(r, 1); time.sleep(0.05); os.kill(pid, signal.SIGTERM); print(os.wait4(pid, 0)[1] >> 8)

    async def main():
        loop = asyncio.get_running_loop(); fut = loop.create_future(); loop.call_later(0.01, fut.set_result, "later")
        print(await fut, await asyncio.wait_for(asyncio.sleep(0.01, "slept"), 5))
        print(await asyncio.gather(*(asyncio.sleep(0.001, i) for i in range(3))))
        print(await loop.run_in_executor(None, sq, 9), await asyncio.to_thread(sq, 3))
        q = asyncio.Queue(); await q.put(1); print(await q.get())
        srv = await asyncio.start_server(lambda r, w: (w.write(b"hey"), w.close()), "127.0.0.1", 0)
        r, w = await asyncio.open_connection(*srv.sockets[0].getsockname()); print(await r.read()); w.close()
        srv.close(); await srv.wait_closed()
        loop.add_signal_handler(signal.SIGUSR1, lambda: print("usr1")); os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.sleep(0.05)
    asyncio.run(main())
