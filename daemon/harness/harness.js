'use strict';
// jaild eval harness for Node. The daemon places this file in the jail and
// starts it as PID 1 with a control document on stdin. See
// daemon/evalharness.go for the protocol and the threat model.
//
// parent (PID 1): never loads submitted code; starts the workers, enforces
//   each case's wall limit and is the only process that holds the jail's
//   stdout: one frame per case, "<nonce> <json>\n", then a "done" frame.
// child ("child" argument): loads the submission and calls the functions,
//   reporting each return value on a private pipe (fd 3) to the parent. Its
//   stdout/stderr go to files the parent reads back. It never sees the
//   nonce or the expected values (those never enter the jail).
const fs = require('fs');
const path = require('path');
const cp = require('child_process');
const vm = require('vm');
const Module = require('module');

const HARNESS = __filename;
const WORK = '/work';
const VALUE_CAP = 256 << 10;

function writeAll(fd, buf) {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off);
}

// ---------------------------------------------------------------- child

function child() {
  // Bound before the submission runs: replacing JSON.stringify or
  // fs.writeSync afterwards changes neither the encoding nor the channel.
  const stringify = JSON.stringify;
  const writeSync = fs.writeSync;
  const cpuUsage = process.cpuUsage.bind(process);
  const ctl = JSON.parse(fs.readFileSync(0, 'utf8'));
  const fd = 3;
  try { fs.writeFileSync('/proc/self/oom_score_adj', '1000'); } catch (e) { /* best effort */ }

  const fstat = fs.fstatSync;
  const keys = Object.keys;
  const report = (m) => {
    // How far this case's output reaches, so that the parent can
    // attribute output to cases however the reports arrive.
    try { m.out = fstat(1).size; m.err = fstat(2).size; } catch (e) { /* keep going */ }
    // Assembled by hand: stringify only ever sees strings and numbers, so
    // a toJSON planted on Object.prototype cannot reshape the report.
    let line = '{';
    for (const k of keys(m)) line += (line.length > 1 ? ',' : '') + stringify(k) + ':' + stringify(m[k]);
    const b = Buffer.from(line + '}\n');
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off);
  };
  const str = (v) => { try { return String(v); } catch (e) { return '<unprintable>'; } };
  const excMsg = (i, e) => {
    let type = typeof e, message = str(e), tb = '';
    try {
      if (e !== null && typeof e === 'object') {
        type = (e.constructor && typeof e.constructor.name === 'string') ? e.constructor.name : 'Object';
        if ('message' in e) message = str(e.message);
        if (typeof e.stack === 'string') tb = e.stack;
      }
    } catch (x) { /* a hostile getter: keep what we have */ }
    return { case: i, ok: false, type, message, traceback: tb };
  };

  // Run the file as a script in this context, with CommonJS's module,
  // exports and require: top-level function declarations become globals
  // and module.exports works as usual.
  const entry = path.join(WORK, ctl.entrypoint);
  const mod = new Module(entry, null);
  mod.filename = entry;
  mod.paths = Module._nodeModulePaths(path.dirname(entry));
  globalThis.module = mod;
  globalThis.exports = mod.exports;
  globalThis.require = Module.createRequire(entry);
  globalThis.__filename = entry;
  globalThis.__dirname = path.dirname(entry);
  let loadErr = null;
  try {
    let src = fs.readFileSync(entry, 'utf8');
    if (src.startsWith('#!')) src = '//' + src.slice(2);
    vm.runInThisContext(src, { filename: entry });
  } catch (e) {
    loadErr = e;
  }
  const lookup = (name) => {
    const ex = mod.exports;
    if (ex && (typeof ex === 'object' || typeof ex === 'function') && typeof ex[name] === 'function') return ex[name];
    if (typeof ex === 'function' && ex.name === name) return ex;
    // name is a checked identifier (the daemon validates it).
    const g = vm.runInThisContext(`typeof ${name} === 'function' ? ${name} : undefined`);
    if (typeof g === 'function') return g;
    throw new ReferenceError(`function ${name} is neither exported by nor defined globally in ${ctl.entrypoint}`);
  };
  const finite = (k, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`${v} is not representable in JSON`);
    return v;
  };

  (async () => {
    let t0 = cpuUsage();
    for (const c of ctl.cases) {
      let m;
      try {
        if (loadErr !== null) throw loadErr;
        const fn = lookup(c.function);
        const args = c.args.slice();
        if (c.kwargs && Object.keys(c.kwargs).length > 0) args.push(c.kwargs);
        let r = fn(...args);
        if (r !== null && typeof r === 'object' && typeof r.then === 'function') r = await r;
        let v;
        try {
          v = stringify(r, finite);
        } catch (e) {
          throw new TypeError('return value is not JSON-encodable: ' + str(e && e.message));
        }
        if (typeof v !== 'string') throw new TypeError(`return value is not JSON-encodable: ${typeof r}`);
        if (v.length > VALUE_CAP) throw new RangeError(`JSON-encoded return value is larger than ${VALUE_CAP} bytes`);
        m = { case: c.index, ok: true, value: v };
      } catch (e) {
        m = excMsg(c.index, e);
      }
      const t1 = cpuUsage();
      m.cpu_ms = Math.floor((t1.user + t1.system - t0.user - t0.system) / 1000);
      t0 = t1;
      report(m);
    }
    process.exit(0);
  })();
}

// ---------------------------------------------------------------- parent


class Parent {
  constructor(ctl, tmp) {
    this.ctl = ctl;
    this.nonce = ctl.nonce;
    this.cap = ctl.output_bytes;
    this.tmp = tmp;
    this.cases = ctl.cases;
    this.foreignKill = false;
    this.start = Date.now();
    this.total = ctl.total_ms || 0;
  }

  // Case i's wall limit in ms, cut to what is left of the eval's total
  // budget; <= 0 when the budget is spent.
  wall(i) {
    let w = this.cases[i].wall_ms;
    if (this.total > 0) w = Math.min(w, this.total - (Date.now() - this.start));
    return w;
  }

  skipRest(i) {
    for (let k = i; k < this.cases.length; k++) this.emit({ case: k, kind: 'skipped' });
  }

  emit(frame) {
    writeAll(1, Buffer.from(this.nonce + ' ' + JSON.stringify(frame) + '\n'));
  }

  readOut(file, start, upto) {
    let end;
    try { end = fs.statSync(file).size; } catch (e) { return [Buffer.alloc(0), 0, start]; }
    if (Number.isInteger(upto) && upto >= start && upto < end) end = upto;
    const n = Math.max(0, end - start);
    const keep = Math.min(n, this.cap);
    const buf = Buffer.alloc(keep);
    let got = 0;
    if (keep > 0) {
      const f = fs.openSync(file, 'r');
      try { got = fs.readSync(f, buf, 0, keep, start); } finally { fs.closeSync(f); }
    }
    return [buf.subarray(0, got), n - got, end];
  }

  outputs(frame, out, err, offs) {
    let so, sd, se, ed;
    [so, sd, offs[0]] = this.readOut(out, offs[0], frame.out);
    [se, ed, offs[1]] = this.readOut(err, offs[1], frame.err);
    delete frame.out;
    delete frame.err;
    frame.stdout = so.toString('base64');
    frame.stderr = se.toString('base64');
    frame.stdout_dropped = sd;
    frame.stderr_dropped = ed;
  }

  died(frame, code, signal, weKilled) {
    if (signal) {
      frame.kind = 'signaled';
      frame.signal = signal;
      if (signal === 'SIGKILL' && !weKilled) this.foreignKill = true;
    } else {
      frame.kind = 'exited';
      frame.exit_code = code;
    }
  }

  async runFunctions() {
    let i = 0;
    while (i < this.cases.length) {
      if (this.wall(i) <= 0) { this.skipRest(i); return; }
      i = await this.session(i);
    }
  }

  // Runs cases from start in one worker and emits their frames once the
  // worker is gone, so that a report it sends twice (a forged one and the
  // real one) or out of order taints every case it reported.
  session(start) {
    return new Promise((resolve) => {
      const out = path.join(this.tmp, 'out' + start);
      const err = path.join(this.tmp, 'err' + start);
      const fo = fs.openSync(out, 'w');
      const fe = fs.openSync(err, 'w');
      const body = JSON.stringify({
        entrypoint: this.ctl.entrypoint,
        cases: this.cases.map((c, k) => ({ index: k, function: c.function, args: c.args || [], kwargs: c.kwargs || {} }))
          .filter((c) => c.index >= start),
      });
      let t0 = Date.now();
      const p = cp.spawn(process.execPath, [HARNESS, 'child'], { stdio: ['pipe', fo, fe, 'pipe'] });
      fs.closeSync(fo);
      fs.closeSync(fe);
      p.stdin.on('error', () => {});
      p.stdin.end(body);
      const offs = [0, 0];
      const frames = [];
      let i = start;
      let buf = Buffer.alloc(0);
      let answered = false; // every case of the session reported
      let over = false; // no further case frames
      let tainted = null;
      let weKilled = false;
      let timer = null;
      const kill = () => {
        if (p.exitCode === null && p.signalCode === null) {
          weKilled = true;
          p.kill('SIGKILL');
        }
      };
      const push = (frame) => {
        this.outputs(frame, out, err, offs);
        frames.push(frame);
        t0 = Date.now();
        i++;
      };
      let wall = this.wall(i); // of the case in progress, fixed when it starts
      const arm = () => {
        clearTimeout(timer);
        const left = t0 + wall - Date.now();
        timer = setTimeout(() => {
          if (!over) push({ case: i, kind: 'timeout', wall_ms: Date.now() - t0 });
          over = true;
          kill();
        }, Math.max(0, left));
      };
      const taint = (why) => {
        if (tainted === null) tainted = why;
        if (!over) push({ case: i, kind: 'protocol', wall_ms: Date.now() - t0 });
        over = true;
        kill();
      };
      arm();
      p.stdio[3].on('data', (chunk) => {
        if (tainted !== null) return;
        if (answered) { taint('the worker sent a report after its last case'); return; }
        buf = Buffer.concat([buf, chunk]);
        let nl;
        while (!over && (nl = buf.indexOf(10)) >= 0) {
          const line = buf.subarray(0, nl).toString();
          buf = buf.subarray(nl + 1);
          const frame = this.judge(line, i, Date.now() - t0);
          if (frame === null) { taint('the worker broke the report protocol (a report out of order, twice or malformed)'); return; }
          push(frame);
          if (i < this.cases.length) wall = this.wall(i);
          if (i < this.cases.length && wall <= 0) {
            // The budget is spent: end the session, runFunctions skips the rest.
            over = answered = true;
            kill();
            return;
          }
          if (i >= this.cases.length) {
            // Every case answered: the real worker exits right away. Wait
            // for it until the last case's deadline and refuse anything
            // more it sends, such as the real report after a forged one.
            over = answered = true;
            if (buf.length > 0) { taint('the worker sent a report after its last case'); return; }
            wall = Math.max(0, this.wall(i - 1) - (frames[frames.length - 1].wall_ms || 0));
            arm();
            return;
          }
          arm();
        }
        if (buf.length > 4 * VALUE_CAP) taint('the worker wrote an oversized report');
      });
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        if (!over) {
          const frame = { case: i, wall_ms: Date.now() - t0 };
          this.died(frame, code, signal, weKilled);
          push(frame);
        } else if (signal === 'SIGKILL' && !weKilled) {
          this.foreignKill = true;
        }
        for (const f of frames) {
          if (tainted !== null) {
            delete f.value; delete f.type; delete f.traceback;
            f.kind = 'protocol';
            f.message = tainted;
          }
          this.emit(f);
        }
        resolve(i);
      });
    });
  }

  judge(line, i, wall) {
    const frame = { case: i, wall_ms: wall };
    let m;
    try { m = JSON.parse(line); } catch (e) { m = null; }
    if (m === null || typeof m !== 'object' || m.case !== i || typeof m.ok !== 'boolean' ||
        (m.ok && typeof m.value !== 'string')) {
      return null;
    }
    frame.cpu_ms = Number.isInteger(m.cpu_ms) && m.cpu_ms >= 0 ? m.cpu_ms : 0;
    frame.out = m.out;
    frame.err = m.err;
    if (m.ok) {
      frame.kind = 'return';
      frame.value = m.value;
      return frame;
    }
    frame.kind = 'raise';
    for (const k of ['type', 'message', 'traceback']) frame[k] = typeof m[k] === 'string' ? m[k].slice(0, VALUE_CAP) : '';
    return frame;
  }

  childCPU() {
    // utime and stime of waited-for children, fields 16 and 17 of
    // /proc/self/stat, in clock ticks (USER_HZ is 100 on Linux).
    try {
      const s = fs.readFileSync('/proc/self/stat', 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return (Number(f[13]) + Number(f[14])) * 10;
    } catch (e) {
      return 0;
    }
  }

  runStdio() {
    const entry = path.join(WORK, this.ctl.entrypoint);
    for (let i = 0; i < this.cases.length; i++) {
      const c = this.cases[i];
      const wall = this.wall(i);
      if (wall <= 0) { this.skipRest(i); return; }
      const out = path.join(this.tmp, 'out' + i);
      const err = path.join(this.tmp, 'err' + i);
      const fo = fs.openSync(out, 'w');
      const fe = fs.openSync(err, 'w');
      const before = this.childCPU();
      const t0 = Date.now();
      const r = cp.spawnSync(process.execPath, [entry, ...(c.argv || [])], {
        input: Buffer.from(c.stdin || ''), stdio: ['pipe', fo, fe],
        timeout: wall, killSignal: 'SIGKILL',
      });
      fs.closeSync(fo);
      fs.closeSync(fe);
      const frame = { case: i, wall_ms: Date.now() - t0 };
      if (r.error && r.error.code === 'ETIMEDOUT') {
        frame.kind = 'timeout';
      } else if (r.signal) {
        this.died(frame, null, r.signal, false);
      } else {
        frame.kind = 'exit';
        frame.exit_code = r.status;
      }
      frame.cpu_ms = Math.max(0, this.childCPU() - before);
      this.outputs(frame, out, err, [0, 0]);
      this.emit(frame);
      for (const f of [out, err]) { try { fs.unlinkSync(f); } catch (e) { /* gone */ } }
    }
  }
}

async function parent() {
  // PID 1 gets only the signals it handles from inside its namespace. A
  // listener on each means none can stop the harness, and the one on
  // SIGUSR1 keeps a worker from starting the inspector in this process.
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT', 'SIGALRM']) process.on(s, () => {});
  const ctl = JSON.parse(fs.readFileSync(0, 'utf8'));
  const tmp = fs.mkdtempSync('/tmp/.jaild-');
  const h = new Parent(ctl, tmp);
  if (ctl.mode === 'function') await h.runFunctions();
  else h.runStdio();
  h.emit({ case: h.cases.length, kind: 'done' });
  // Exit 3 makes the runner consult the cgroup's OOM counter: a worker the
  // kernel killed while the harness lived on would otherwise go unseen.
  process.exit(h.foreignKill ? 3 : 0);
}

if (process.argv[2] === 'child') child();
else parent();
