// threat: off-heap Buffer memory bomb from node: the memory cgroup OOM-kills it
// status: oom
const keep = [];
for (;;) keep.push(Buffer.alloc(16 << 20, 1));
