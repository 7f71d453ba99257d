import { createServer } from 'node:net';

/**
 * Asks the OS for a free TCP port on `host` (listen on port 0, read the port, close).
 * Another process may take the port before it is used: callers that bind it must retry
 * on "Address already in use" (startRedisServer does).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((error) => {
        if (error) reject(error);
        else if (port > 0) resolve(port);
        else reject(new Error(`freePort: could not read the port of ${String(address)}`));
      });
    });
  });
}
