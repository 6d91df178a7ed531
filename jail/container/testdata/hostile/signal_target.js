// threat: signal the target jail and the daemon from node by host PID
// status: ok
// stdout: "ESRCH ESRCH\n"
const k = (p) => { try { process.kill(p, "SIGKILL"); return "ok"; } catch (e) { return e.code; } };
console.log(k({{TARGET_PID}}), k({{DAEMON_PID}}));
