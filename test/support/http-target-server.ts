import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a target received, with the headers the 'http' handler sends. */
export interface TargetCall {
  method: string;
  /** The path, e.g. '/ok-1'. */
  path: string;
  idempotencyKey: string;
  fencingToken: number;
  /** X-Scheduler-Fire-Time as ms since the epoch (NaN if missing). */
  fireTime: number;
  attempt: number;
  /** The status the target answered. */
  status: number;
}

export interface HttpTargetServer {
  readonly port: number;
  /** 'http://127.0.0.1:<port>/' */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly calls: TargetCall[];
  /** The calls whose path is `path`. */
  callsTo(path: string): TargetCall[];
  close(): Promise<void>;
}

/** Chooses the answer to a call (its status), from the call and the earlier calls to that path. */
export type Responder = (call: Omit<TargetCall, 'status'>, earlier: TargetCall[]) => number;

/**
 * A local HTTP server standing for a tenant's webhook, on a port the OS picks (listen on 0, so no
 * port race): records every call and answers what `respond` says (200 by default).
 */
export async function startHttpTargetServer(
  respond: Responder = () => 200,
): Promise<HttpTargetServer> {
  const calls: TargetCall[] = [];
  const callsTo = (path: string): TargetCall[] => calls.filter((c) => c.path === path);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume(); // the body is not needed; drain it
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://target').pathname;
      const call = {
        method: req.method ?? '',
        path,
        idempotencyKey: header(req, 'idempotency-key'),
        fencingToken: Number(header(req, 'x-fencing-token')),
        fireTime: Date.parse(header(req, 'x-scheduler-fire-time')),
        attempt: Number(header(req, 'x-scheduler-attempt')),
      };
      const status = respond(call, callsTo(path));
      calls.push({ ...call, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    calls,
    callsTo,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}
