// Preloaded (`node --import`, or `--require` where a function starts from a startup snapshot,
// which runs no `--import`: hence CommonJS) into a function that `npm start` or a test starts,
// which hands it a pipe as fd 3 and keeps the other end. However that parent ends (SIGKILL
// included), the system closes its end; the pipe's end of file is the sign to go, at once: no one
// is left to hear a graceful stop. The function's own code knows nothing of this.
const { Socket } = require("node:net");

const parent = new Socket({ fd: 3, readable: true, writable: false });
const exit = () => {
  process.stderr.write("the process that started this one is gone; exiting\n");
  process.exit(1);
};
parent
  .on("end", exit)
  .on("error", exit)
  .on("data", () => {});
// Watching the pipe must not be what keeps the process alive.
parent.unref();
