// Pure computation, Buffer, crypto, zlib, timers, promises, WebAssembly.
const crypto = require('crypto'), zlib = require('zlib'), util = require('util'), assert = require('assert');
const a = Array.from({length: 100000}, (_, i) => i * Math.random());
console.log(JSON.stringify({n: a.length, h: crypto.createHash('sha256').update('x').digest('hex').slice(0, 8)}));
console.log(crypto.randomBytes(8).length, zlib.gunzipSync(zlib.gzipSync(Buffer.alloc(1000))).length, util.format('%d', 3));
const wasm = new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,127,3,2,1,0,7,5,1,1,102,0,0,10,6,1,4,0,65,42,11]);
WebAssembly.instantiate(wasm).then(m => console.log(m.instance.exports.f()));
const big = Buffer.alloc(64 << 20); big[0] = 1;
let n = 0; const t = setInterval(() => { if (++n === 3) clearInterval(t); }, 5);
setTimeout(async () => { await new Promise(r => setImmediate(r)); assert.ok(true); console.log('timers'); }, 30);
new Intl.NumberFormat('en-US').format(1234.5); new Date().toISOString();
