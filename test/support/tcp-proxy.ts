import { createConnection, createServer, Server, Socket } from 'node:net';

/** A loopback TCP proxy in front of a server, whose link can be cut without closing sockets. */
export interface TcpProxyHandle {
  /** `redis://127.0.0.1:<proxy port>`. */
  url: string;
  port: number;
  /** Stops forwarding in both directions; connections stay open (a network partition). */
  cut(): void;
  /**
   * Forwards again, for new connections: the ones open during the cut are closed, since what was
   * sent over them while cut is lost and their streams no longer line up (clients reconnect).
   */
  heal(): void;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port that forwards to 127.0.0.1:`targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxyHandle> {
  let forwarding = true;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((downstream) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    track(downstream);
    track(upstream);
    downstream.on('data', (chunk) => forwarding && upstream.write(chunk));
    upstream.on('data', (chunk) => forwarding && downstream.write(chunk));
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    cut: () => (forwarding = false),
    heal: () => {
      for (const socket of sockets) socket.destroy();
      forwarding = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
