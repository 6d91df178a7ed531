// threat: output flood from node: the head is kept, the rest counted, no daemon blowup
// status: ok
// stdout_len: 1000
// dropped: 49999000
// limits: output=1000
const fs = require("fs");
const chunk = Buffer.alloc(1000000, 0x7a);
for (let i = 0; i < 50; i++) fs.writeSync(1, chunk);
