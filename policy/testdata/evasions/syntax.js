function ok() {}
const x = {;
