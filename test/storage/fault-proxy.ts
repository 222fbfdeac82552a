/**
 * An HTTP proxy in front of s3rver that injects faults on a script: answer with an S3
 * error (500 InternalError, 503 SlowDown, 403 …), reset the connection before answering,
 * or forward the request and cut the response body half way, or flip one byte of the
 * REQUEST body in flight (corruption between weir and the store: the Content-Length and
 * the signed headers stay as they are). Requests that match no scripted fault are
 * forwarded unchanged (signatures stay valid: the Host header is kept). Every request's
 * headers are recorded, so a test can check what went over the wire.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProxyFault =
  | { kind: 'status'; status: number; code: string }
  | { kind: 'reset' }
  /** Never answer (until the proxy stops): the client's request timeout must fire. */
  | { kind: 'hang' }
  | { kind: 'cut-body' }
  /** Forward, let the server do the work, then drop the connection instead of answering. */
  | { kind: 'lose-response' }
  /** Forward, send half the response body, then go silent (the client's socket timeout must fire). */
  | { kind: 'stall-body' }
  /** Forward the request with one byte of its body flipped (bit rot / a bad NIC on the way in). */
  | { kind: 'flip-request-byte' };

interface ScriptedFault {
  method: string | undefined;
  match: RegExp;
  fault: ProxyFault;
}

export interface SeenRequest {
  method: string;
  url: string;
  fault: ProxyFault['kind'] | 'forwarded';
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export class FaultProxy {
  readonly seen: SeenRequest[] = [];
  private readonly script: ScriptedFault[] = [];
  private server: Server | undefined;

  constructor(private readonly upstream: string) {}

  /** Queues `times` faults for requests with `method` (any if undefined) whose URL matches. */
  inject(fault: ProxyFault, options: { method?: string; match?: RegExp; times?: number } = {}): void {
    for (let i = 0; i < (options.times ?? 1); i++) {
      this.script.push({ method: options.method, match: options.match ?? /./, fault });
    }
  }

  /** Drops every queued fault. */
  clear(): void {
    this.script.length = 0;
  }

  pending(): number {
    return this.script.length;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 1000;
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const index = this.script.findIndex((s) => (s.method === undefined || s.method === method) && s.match.test(url));
    const fault = index >= 0 ? this.script.splice(index, 1)[0]!.fault : undefined;
    this.seen.push({ method, url, fault: fault?.kind ?? 'forwarded', headers: { ...req.headers } });

    if (fault?.kind === 'hang') {
      req.resume();
      return;
    }
    if (fault?.kind === 'status' || fault?.kind === 'reset') {
      req.resume();
      await new Promise<void>((resolve) => req.once('end', resolve));
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>injected by FaultProxy</Message><RequestId>proxy</RequestId></Error>`;
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }

    const target = new URL(url, this.upstream);
    const upstream = httpRequest(target, { method, headers: req.headers }, (up) => {
      if (fault?.kind === 'lose-response') {
        up.resume();
        up.once('end', () => res.socket?.destroy());
        return;
      }
      if (fault?.kind !== 'cut-body' && fault?.kind !== 'stall-body') {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      // Send the headers (with the full content-length) and half the body, then drop the connection.
      const total = Number(up.headers['content-length'] ?? 0);
      res.writeHead(up.statusCode ?? 502, up.headers);
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        if (sent >= total / 2) return;
        const take = chunk.subarray(0, Math.max(1, Math.floor(total / 2) - sent));
        sent += take.length;
        res.write(take);
        if (sent >= total / 2 && fault.kind === 'cut-body') res.socket?.destroy();
      });
    });
    upstream.on('error', () => res.socket?.destroy());
    if (fault?.kind === 'flip-request-byte') {
      let flipped = false;
      req.on('data', (chunk: Buffer) => {
        if (!flipped && chunk.length > 0) {
          const copy = Buffer.from(chunk);
          const at = Math.floor(copy.length / 2);
          copy[at] = copy[at]! ^ 0x20;
          flipped = true;
          upstream.write(copy);
        } else {
          upstream.write(chunk);
        }
      });
      req.on('end', () => upstream.end());
      return;
    }
    req.pipe(upstream);
  }
}
