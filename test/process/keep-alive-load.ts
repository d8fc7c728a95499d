// Busy keep-alive clients for the drain tests: each client sends one request
// after another on a pooled connection, as Alcor's services and Node's agent
// do, and sorts what fails. A refused connection was never read. A reset
// before any answer came (on a reused connection, or on a new one the server
// had not accepted yet when it stopped listening) is safe to send again only
// if the server did not read the request, which the client cannot tell: the
// tests check it by counting what the server did. Anything else (an answer
// cut partway, a timeout) is not safe.

import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request was sent and when its answer ended. */
  sentAt: number;
  endedAt: number;
}

export type FailureKind = 'refused' | 'reset-reused' | 'reset-new' | 'other';

export interface Failure {
  kind: FailureKind;
  message: string;
}

export interface RequestSpec {
  method: string;
  path: string;
  body?: string;
}

/** Sends one request on `agent`; an answer, or why there is none. */
export function send(agent: Agent | false, port: number, spec: RequestSpec): Promise<Answer | Failure> {
  return new Promise((resolve) => {
    const sentAt = performance.now();
    const data = spec.body ?? '';
    let answered = false;
    const req = request(
      { host: '127.0.0.1', port, method: spec.method, path: spec.path, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sentAt, endedAt: performance.now() }));
        res.on('error', (e) => resolve({ kind: 'other', message: `answer cut: ${e.message}` }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (answered) return;
      const reset = e.code === 'ECONNRESET' || e.code === 'EPIPE';
      const kind: FailureKind = e.code === 'ECONNREFUSED' ? 'refused' : reset ? (req.reusedSocket ? 'reset-reused' : 'reset-new') : 'other';
      resolve({ kind, message: `${e.code ?? ''} ${e.message}${req.reusedSocket ? ' (reused connection)' : ' (new connection)'}` });
    });
    req.end(data);
  });
}

export const isFailure = (r: Answer | Failure): r is Failure => 'kind' in r;

export interface LoadResult {
  sent: number;
  answers: number;
  failures: Record<FailureKind, number>;
  /** The messages of the failures that are never safe to retry. */
  unsafe: string[];
}

/** One line: what was sent, answered, and how the rest failed. */
export function describeLoad(r: LoadResult): string {
  const f = r.failures;
  return `${r.sent} requests, ${r.answers} answered; failed: ${f.refused} refused, ${f['reset-reused']} reset on a reused connection, ${f['reset-new']} reset on a new connection, ${f.other} other${f.other ? ` (${r.unsafe.slice(0, 3).join('; ')})` : ''}`;
}

/**
 * `clients` loops sharing one keep-alive agent (one connection each), each
 * sending `next()` and handing the answer to `onAnswer`, until `stop()` or a
 * failure on a new connection (the server no longer listens: a client would
 * go to another replica).
 */
export async function runClients(o: { port: number; clients: number; next: () => RequestSpec; onAnswer: (a: Answer, spec: RequestSpec) => void; stop: () => boolean }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.clients });
  const result: LoadResult = { sent: 0, answers: 0, failures: { refused: 0, 'reset-reused': 0, 'reset-new': 0, other: 0 }, unsafe: [] };
  const client = async (): Promise<void> => {
    while (!o.stop()) {
      const spec = o.next();
      result.sent++;
      const r = await send(agent, o.port, spec);
      if (!isFailure(r)) {
        result.answers++;
        o.onAnswer(r, spec);
        continue;
      }
      result.failures[r.kind]++;
      if (r.kind === 'other') result.unsafe.push(r.message);
      if (r.kind !== 'reset-reused') return;
    }
  };
  await Promise.all(Array.from({ length: o.clients }, client));
  agent.destroy();
  return result;
}
