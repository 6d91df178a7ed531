// threat: network egress from node (exfiltration, host services on loopback)
// status: ok
// stdout: "ENETUNREACH ECONNREFUSED\n"
const net = require("net");
const tryc = (host, port) => new Promise((res) => {
  const s = net.connect({ host, port });
  s.on("connect", () => { s.destroy(); res("connected"); });
  s.on("error", (e) => res(e.code));
});
(async () => console.log(await tryc("1.1.1.1", 53), await tryc("127.0.0.1", 22)))();
