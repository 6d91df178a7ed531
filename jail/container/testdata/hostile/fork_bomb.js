// threat: fork bomb from node's child_process: the pids cgroup caps it
// status: ok
// stdout: "capped true\n"
// limits: pids=24 memory=1GiB wall=20s
const { spawn } = require("child_process");
let errors = 0, spawned = 0, pending = 0;
function more() {
  for (let i = 0; i < 40; i++) {
    pending++;
    const c = spawn(process.execPath, ["-e", "setTimeout(()=>{}, 60000)", process.argv[2]], { stdio: "ignore" });
    c.on("spawn", () => { spawned++; if (--pending === 0) done(); });
    c.on("error", () => { errors++; if (--pending === 0) done(); });
  }
}
function done() { console.log("capped", errors > 0 && spawned < 24); process.exit(0); }
more();
