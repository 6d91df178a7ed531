// threat: open host devices from node (/dev/mem, /dev/kmsg, disks)
// status: ok
// stdout: "ENOENT ENOENT ENOENT\n"
const fs = require("fs");
const code = (p) => { try { fs.openSync(p, "r"); return "ok"; } catch (e) { return e.code; } };
console.log(code("/dev/mem"), code("/dev/kmsg"), code("/dev/sda"));
