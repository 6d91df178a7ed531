// threat: CVE-2019-5736 from node: open /proc/self/exe (the node binary) for writing
// status: ok
// stdout: "EACCES EACCES\n"
const fs = require("fs");
const code = (f) => { try { f(); return "ok"; } catch (e) { return e.code; } };
console.log(code(() => fs.openSync("/proc/self/exe", "r+")), code(() => fs.openSync(fs.realpathSync(process.execPath), "r+")));
