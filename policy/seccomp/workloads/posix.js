// Node and libuv calls the other workloads do not make.
const fs = require('fs'), os = require('os'), cp = require('child_process'), crypto = require('crypto');
console.log(os.availableParallelism ? os.availableParallelism() : os.cpus().length, os.loadavg().length, os.uptime() > 0,
  os.userInfo().uid, os.getPriority(), os.release().length > 0, os.freemem() > 0, os.tmpdir());
console.log(process.resourceUsage().maxRSS > 0, process.memoryUsage().rss > 0, process.cpuUsage().user >= 0, process.hrtime.bigint() > 0n,
  process.uptime() >= 0, process.ppid, process.getuid(), process.umask());
const f = '/tmp/p';
const fd = fs.openSync(f, 'w+'); fs.writeSync(fd, 'x'.repeat(100)); fs.fsyncSync(fd); fs.fdatasyncSync(fd); fs.ftruncateSync(fd, 10);
fs.fchmodSync(fd, 0o644); fs.futimesSync(fd, 1, 1); console.log(fs.readSync(fd, Buffer.alloc(10), 0, 10, 0)); fs.closeSync(fd);
fs.copyFileSync(f, f + '2'); fs.appendFileSync(f, 'y'); fs.truncateSync(f, 3); fs.utimesSync(f, 1, 1); fs.linkSync(f, f + '3');
fs.accessSync(f); fs.existsSync('/nope'); console.log(fs.realpathSync('/work'), fs.lstatSync(f).size, fs.statfsSync ? 1 : 0);
fs.mkdirSync('/tmp/d/e/f', {recursive: true}); fs.rmSync('/tmp/d', {recursive: true}); fs.readdirSync('/work', {withFileTypes: true});
for (const p of [f, f + '2', f + '3']) fs.unlinkSync(p);
const c = cp.spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
c.on('spawn', () => c.kill('SIGTERM')).on('exit', (code, sig) => console.log('killed', sig));
process.on('SIGUSR1', () => console.log('usr1')); process.kill(process.pid, 'SIGUSR1');
crypto.scrypt('p', 's', 16, (e, k) => console.log('scrypt', k.length));
crypto.pbkdf2('p', 's', 1000, 16, 'sha256', (e, k) => console.log('pbkdf2', k.length));
require('dns').lookup('localhost', (e, a) => console.log('dns', e ? e.code : a));
fs.promises.readdir('/work').then(x => console.log('readdir', x.length));
fs.createReadStream('/work/main.js').on('data', () => {}).on('end', () => console.log('stream'));
setTimeout(() => {}, 50);
