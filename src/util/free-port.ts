// A free TCP port on 127.0.0.1, found by binding port 0 and releasing it. Racy by nature: callers
// that start a server on it retry on "address in use".
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no free port"))));
    });
  });
}
