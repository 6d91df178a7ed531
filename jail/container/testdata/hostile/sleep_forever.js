// threat: a script that never ends holds a slot forever: the wall clock ends it
// status: timeout
// signal: SIGKILL
// limits: wall=700ms
setInterval(() => {}, 1000);
