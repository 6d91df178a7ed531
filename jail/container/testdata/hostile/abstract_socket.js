// threat: abstract unix sockets from node toward the target jail and the host
// status: ok
// stdout: "ECONNREFUSED ECONNREFUSED\n"
const net = require("net");
const tryc = (name) => new Promise((res) => {
  const s = net.connect({ path: "\0" + name });
  s.on("connect", () => { s.destroy(); res("connected"); });
  s.on("error", (e) => res(e.code));
});
(async () => console.log(await tryc("{{TARGET_SOCK}}"), await tryc("{{HOST_SOCK}}")))();
