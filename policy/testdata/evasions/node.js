const cp = require('child_process');
const name = 'child_' + 'proc' + 'ess'; require(name);
const r = require; r('fs');
const e = eval; e('1');
new Function('return process')();
(() => {}).constructor('return 1')();
process.binding('spawn_sync');
import('v' + 'm');
const t = `${require('node:fs')}`; // require('os') in a comment is not code
const re = /require\('net'\)/g;
globalThis['ev' + 'al']('1');
setTimeout('console.log(1)', 1);
const s = "a string with require('os') inside";
const { execSync } = require(`child_process`);
module.constructor._load('fs');
this["constructor"];
