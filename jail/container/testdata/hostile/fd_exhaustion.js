// threat: file-descriptor exhaustion from node: EMFILE at RLIMIT_NOFILE
// status: ok
// stdout: "EMFILE true\n"
const fs = require("fs");
let n = 0;
try { for (;;) { fs.openSync("/dev/null", "r"); n++; } } catch (e) { console.log(e.code, n < 256); }
