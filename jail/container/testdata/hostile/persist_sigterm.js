// threat: node children that ignore SIGTERM and the parent exits at once
// status: ok
// stdout: "parent done\n"
const { spawn } = require("child_process");
for (let i = 0; i < 3; i++)
  spawn(process.execPath, ["-e", "process.on('SIGTERM',()=>{}); setInterval(()=>{}, 1000)", process.argv[2]], { stdio: "ignore" });
setTimeout(() => { console.log("parent done"); process.exit(0); }, 300);
