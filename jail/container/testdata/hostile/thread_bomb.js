// threat: worker-thread bomb in node: the pids cgroup caps the tasks
// status: ok
// stdout: "capped true\n"
// limits: pids=24 memory=1GiB wall=40s cpu=40s
const { Worker } = require("worker_threads");
let made = 0, refused = false;
try {
  for (let i = 0; i < 200; i++) { new Worker("setInterval(()=>{}, 1000)", { eval: true }); made++; }
} catch (e) { refused = e.code === "EAGAIN" || /EAGAIN/.test(e.message); }
console.log("capped", refused && made < 24);
process.exit(0);
