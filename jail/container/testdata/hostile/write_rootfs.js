// threat: modify the shared read-only rootfs from node (persisting into the next jail)
// status: ok
// stdout: "EROFS EROFS\n"
const fs = require("fs");
const code = (f) => { try { f(); return "ok"; } catch (e) { return e.code; } };
console.log(code(() => fs.writeFileSync("/usr/lib/x", "x")), code(() => fs.mkdirSync("/etc/x")));
