// threat: read the target jail's /tmp and /dev/shm from node
// status: ok
// stdout: "ENOENT 0 0\n"
const fs = require("fs");
let r; try { fs.readFileSync("{{TARGET_WORK}}/secret"); r = "ok"; } catch (e) { r = e.code; }
console.log(r, fs.readdirSync("/tmp").length, fs.readdirSync("/dev/shm").length);
