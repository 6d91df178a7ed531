// threat: a detached, unref'd child process from node outlives the run
// status: ok
// stdout: "parent done\n"
const { spawn } = require("child_process");
const c = spawn(process.execPath, ["-e", "setTimeout(()=>{}, 60000)", process.argv[2]], { detached: true, stdio: "ignore" });
c.unref();
setTimeout(() => console.log("parent done"), 300);
