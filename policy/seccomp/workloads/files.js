// The fs (sync, callback, promises), stream, readline, net, dgram, os,
// process, timers, crypto, zlib, Intl calls of ordinary scripts that the
// other workloads do not make.
const fs = require('fs'), fsp = require('fs/promises'), path = require('path'), os = require('os');
const net = require('net'), dgram = require('dgram'), zlib = require('zlib'), crypto = require('crypto');
const readline = require('readline'), stream = require('stream'), { pipeline } = require('stream/promises');
const cp = require('child_process'), { Worker, isMainThread, parentPort } = require('worker_threads');
if (!isMainThread) { parentPort.on('message', m => { parentPort.postMessage(m * 2); process.exit(0); }); return; }
const top = fs.mkdtempSync(path.join(os.tmpdir(), 'files-'));
const here = process.cwd(); process.chdir(top); console.log(process.cwd() === top); process.chdir(here);
const p = path.join(top, 'a');
let fd = fs.openSync(p, 'w+');
fs.writeSync(fd, Buffer.from('0123456789'.repeat(100)), 0, 1000, 0); fs.writeSync(fd, 'ab', 10);
fs.writevSync(fd, [Buffer.from('x'), Buffer.from('y')], 0); console.log(fs.readvSync(fd, [Buffer.alloc(2), Buffer.alloc(2)], 0));
fs.readvSync(fd, [Buffer.alloc(1)]); const b = Buffer.alloc(4); fs.readSync(fd, b, 0, 4, 8); console.log(b.toString());
fs.fchownSync(fd, process.getuid(), process.getgid()); fs.fstatSync(fd); fs.fdatasyncSync(fd); fs.closeSync(fd);
fs.chownSync(p, process.getuid(), process.getgid()); fs.lchownSync(p, process.getuid(), process.getgid());
fs.truncateSync(p, 500); fs.renameSync(p, p + '1'); fs.renameSync(p + '1', p); fs.utimesSync(p, new Date(), new Date()); fs.lutimesSync(p, 1, 1);
fs.symlinkSync(p, p + '.sym'); console.log(fs.readlinkSync(p + '.sym') === p, fs.lstatSync(p + '.sym').isSymbolicLink());
fs.linkSync(p, p + '.hard'); fs.unlinkSync(p + '.hard'); fs.rmSync(p + '.sym');
console.log(fs.statfsSync('/tmp').bsize > 0, fs.statSync(p, {bigint: true}).size, fs.existsSync('/nope'));
fs.accessSync(p, fs.constants.R_OK | fs.constants.W_OK); fs.chmodSync(p, 0o600);
fs.copyFileSync(p, p + '.copy'); fs.copyFileSync(p, p + '.excl', fs.constants.COPYFILE_EXCL);
fs.mkdirSync(path.join(top, 't/u/v'), {recursive: true}); fs.writeFileSync(path.join(top, 't/u/v/f.txt'), 'f');
fs.cpSync(path.join(top, 't'), path.join(top, 't2'), {recursive: true}); fs.rmSync(path.join(top, 't/u/v'), {recursive: true});
const dir = fs.opendirSync(top); let e; while ((e = dir.readSync())) {} dir.closeSync();
console.log(fs.readdirSync(top).sort().join(','), fs.realpathSync.native(top) === top);
fs.appendFileSync(p, 'z'); console.log(fs.readFileSync(p).length);
const w = fs.watch(top, () => {}); w.close(); fs.watchFile(p, {interval: 10}, () => {}); fs.unwatchFile(p);
(async () => {
  const h = await fsp.open(p, 'r+'); await h.write('w', 0); await h.read(Buffer.alloc(4), 0, 4, 0); await h.truncate(100);
  await h.sync(); await h.datasync(); await h.chmod(0o644); await h.chown(process.getuid(), process.getgid()); await h.utimes(1, 1);
  await h.stat(); await h.writev([Buffer.from('v')], 1); await h.readv([Buffer.alloc(1)], 1); await h.close();
  await fsp.writeFile(path.join(top, 'p'), 'promise'); await fsp.appendFile(path.join(top, 'p'), '!'); await fsp.readFile(path.join(top, 'p'), 'utf8');
  await fsp.copyFile(path.join(top, 'p'), path.join(top, 'q')); await fsp.rename(path.join(top, 'q'), path.join(top, 'r'));
  await fsp.symlink('r', path.join(top, 's')); await fsp.readlink(path.join(top, 's')); await fsp.lstat(path.join(top, 's'));
  await fsp.link(path.join(top, 'r'), path.join(top, 'h')); await fsp.unlink(path.join(top, 'h')); await fsp.truncate(path.join(top, 'r'), 1);
  await fsp.mkdir(path.join(top, 'm/n'), {recursive: true}); await fsp.readdir(top, {withFileTypes: true}); await fsp.access(top);
  await fsp.chmod(path.join(top, 'r'), 0o600); await fsp.utimes(path.join(top, 'r'), 1, 1); await fsp.realpath(top); await fsp.statfs(top);
  await fsp.mkdtemp(path.join(top, 'x-')); await fsp.cp(path.join(top, 'm'), path.join(top, 'm2'), {recursive: true});
  await fsp.rm(path.join(top, 'm2'), {recursive: true}); await fsp.rmdir(path.join(top, 'm/n'));
  await pipeline(fs.createReadStream(p), zlib.createGzip(), fs.createWriteStream(p + '.gz'));
  await pipeline(fs.createReadStream(p + '.gz'), zlib.createGunzip(), new stream.Writable({write(c, e, cb) { cb(); }}));
  await pipeline(stream.Readable.from(['a', 'b']), new stream.Transform({transform(c, e, cb) { cb(null, c); }}), fs.createWriteStream(p + '.t'));
  const rl = readline.createInterface({input: fs.createReadStream(p + '.t')}); for await (const l of rl) {}
  console.log('fs ok');
  fs.rmSync(top, {recursive: true, force: true});
  await new Promise(r => { const s = net.createServer(c => c.pipe(c)).listen(0, '127.0.0.1', () => {
    const c = net.connect(s.address().port, '127.0.0.1', () => { c.setNoDelay(true); c.setKeepAlive(true); c.write('echo'); });
    c.on('data', x => { console.log(String(x), c.remoteAddress); c.end(); s.close(r); }); }); });
  const sock = path.join(os.tmpdir(), 'files.sock');
  await new Promise(r => { const s = net.createServer(c => c.end('unix')).listen(sock, () => {
    net.connect(sock).on('data', x => { console.log(String(x)); s.close(r); }); }); });
  await new Promise(r => { const u = dgram.createSocket('udp4'); u.bind(0, '127.0.0.1', () => {
    u.on('message', (m, ri) => { console.log(String(m), ri.address); u.close(r); }); u.send('dgram', u.address().port, '127.0.0.1'); }); });
  await new Promise(r => { const wk = new Worker(__filename); wk.on('message', m => { console.log('worker', m); }); wk.on('exit', r); wk.postMessage(21); });
  console.log(cp.execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid > 0))']).toString());
  await new Promise(r => cp.execFile(process.execPath, ['-e', 'console.log(1)'], (e, out) => { console.log(out.trim()); r(); }));
  await new Promise(r => { const c = cp.spawn(process.execPath, ['-e', 'process.stdin.pipe(process.stdout)'], {stdio: ['pipe', 'pipe', 'inherit']});
    c.stdout.on('data', x => console.log(String(x))); c.on('close', r); c.stdin.end('piped'); });
  console.log(cp.spawnSync(process.execPath, ['-e', '0']).status);
  console.log(crypto.createHmac('sha256', 'k').update('x').digest('hex').slice(0, 4), crypto.randomUUID().length, crypto.getRandomValues(new Uint8Array(4)).length);
  const {publicKey, privateKey} = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'});
  console.log(crypto.verify(null, Buffer.from('m'), publicKey, crypto.sign(null, Buffer.from('m'), privateKey)));
  const key = crypto.randomBytes(32), iv = crypto.randomBytes(12), ci = crypto.createCipheriv('aes-256-gcm', key, iv); ci.update('x'); ci.final();
  await crypto.subtle.digest('SHA-256', Buffer.from('x')); console.log(zlib.inflateSync(zlib.deflateSync('z')).toString(), zlib.brotliDecompressSync(zlib.brotliCompressSync('b')).toString());
  console.log(os.platform(), os.arch(), os.endianness(), os.homedir(), os.type(), os.cpus().length > 0, os.constants.signals.SIGTERM, os.EOL.length);
  console.log(process.hrtime()[0] >= 0, process.cpuUsage().system >= 0, process.memoryUsage.rss() > 0, process.resourceUsage().userCPUTime >= 0, process.getgroups());
  process.setUncaughtExceptionCaptureCallback(null); process.emitWarning = () => {};
  console.log(new Intl.DateTimeFormat('en-US', {timeZone: 'UTC'}).format(0), new Intl.Collator('de').compare('a', 'b'), 'x'.localeCompare('y'));
  const mod = await WebAssembly.compile(new Uint8Array([0,97,115,109,1,0,0,0])); await WebAssembly.instantiate(mod);
  const ac = new AbortController(); setTimeout(() => ac.abort(), 5);
  await require('timers/promises').setTimeout(20, null, {signal: ac.signal}).catch(e => console.log(e.name));
  const iv2 = setInterval(() => {}, 1); await require('timers/promises').setImmediate(); clearInterval(iv2);
  queueMicrotask(() => {}); process.nextTick(() => {}); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  let input = ''; for await (const l of readline.createInterface({input: process.stdin})) input += l;
  console.log('stdin', input);
})();
