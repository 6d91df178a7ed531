// threat: CPU hog from node: the CPU-time budget stops it
// status: cpu_limit
// limits: cpu=300ms wall=10s
for (;;) {}
