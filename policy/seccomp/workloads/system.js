// Files (sync and thread pool), child processes, workers, sockets, http, stdin.
if (process.argv[2] === 'child') process.exit(0);
const fs = require('fs'), os = require('os'), path = require('path'), cp = require('child_process');
const net = require('net'), dgram = require('dgram'), http = require('http');
const { Worker } = require('worker_threads');
const d = fs.mkdtempSync('/tmp/w-');
fs.writeFileSync(path.join(d, 'a'), 'hello'); fs.chmodSync(path.join(d, 'a'), 0o600);
fs.renameSync(path.join(d, 'a'), path.join(d, 'b')); fs.symlinkSync('b', path.join(d, 'l'));
console.log(fs.readdirSync(d), fs.statSync(d).isDirectory(), fs.readlinkSync(path.join(d, 'l')));
console.log(cp.spawnSync(process.execPath, ['-e', 'console.log("child")']).stdout.toString().trim());
console.log(cp.execFileSync(process.execPath, ['-e', 'process.stdout.write("x")']).toString());
console.log(os.cpus().length > 0, os.totalmem() > 0, os.hostname(), Object.keys(os.networkInterfaces()));
(async () => {
  await fs.promises.writeFile(path.join(d, 'c'), 'async');
  console.log(await fs.promises.readFile(path.join(d, 'c'), 'utf8'));
  const w = fs.watch(d); w.close();
  await new Promise(r => { const wk = new Worker('require("worker_threads").parentPort.postMessage(6*7)', {eval: true});
    wk.on('message', m => { console.log('worker', m); r(); }); });
  await new Promise(r => { const c = cp.fork(__filename, ['child']); c.on('exit', r); });
  await new Promise(r => { const s = net.createServer(c => c.end('pong')).listen(0, '127.0.0.1', () => {
    net.connect(s.address().port, '127.0.0.1').on('data', x => { console.log(String(x)); s.close(r); }); }); });
  await new Promise(r => { const u = dgram.createSocket('udp4'); u.bind(0, '127.0.0.1', () => {
    u.on('message', () => { u.close(); r(); }); u.send('u', u.address().port, '127.0.0.1'); }); });
  await new Promise(r => { const s = http.createServer((q, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
    http.get({host: '127.0.0.1', port: s.address().port, agent: false}, res => { res.resume(); res.on('end', () => s.close(r)); }); }); });
  fs.rmSync(d, {recursive: true});
  let input = ''; process.stdin.on('data', c => input += c).on('end', () => { console.log(input); process.exit(3); });
})();
