// A harmless script: jaild run prints its output and the verdict.
console.log(`hello from ${require('os').hostname()}: uid ${process.getuid()}, pid ${process.pid}, node ${process.version}`);
