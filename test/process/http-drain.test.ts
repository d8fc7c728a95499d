// The drain of a listener of the limit layer (src/process/http-drain.ts),
// in-process over loopback: what it refuses, what it answers, what it closes
// and when; and, under busy keep-alive clients, that every request the
// handler saw was answered and every failure is one the server never read.

import { connect, type Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { httpLimitValues, type HttpLimitsInput } from '../../src/api/http-limits.ts';
import { createLimitedServer, listen, type LimitedServer } from '../../src/process/http-limits.ts';
import { startJsonApi } from '../../src/process/json-api.ts';
import { createLogger } from '../../src/process/log.ts';
import { startProbeServer } from '../../src/process/probes.ts';
import { describeLoad, isFailure, runClients, send } from './keep-alive-load.ts';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

/**
 * A limited server whose handler answers `/slow` only when the test says so
 * (`release`), sends the headers and a first part of `/stream` at once and
 * ends it on `release`, and answers anything else at once; `handled` counts
 * the requests it saw.
 */
async function serve(limits: HttpLimitsInput = {}): Promise<{ server: LimitedServer; port: number; handled: () => number; slow: () => number; release: () => void }> {
  let handled = 0;
  const waiting: ServerResponse[] = [];
  const answer = (res: ServerResponse, text: string): void => {
    if (res.headersSent) return void res.end(' end');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': text.length }).end(text);
  };
  const server = createLimitedServer({
    limits: httpLimitValues(limits),
    handle: (req, res) => {
      const n = ++handled;
      if (req.url === '/stream') res.writeHead(200, { 'content-type': 'text/plain' }).write('part');
      if (req.url === '/slow' || req.url === '/stream') waiting.push(res);
      else answer(res, `answer ${n}`);
    },
  });
  const port = await listen(server, '127.0.0.1', 0);
  open.push({ close: () => (server.close(), server.closeAllConnections()) });
  return {
    server,
    port,
    handled: () => handled,
    slow: () => waiting.length,
    release: () => {
      for (const res of waiting.splice(0)) answer(res, 'slow answer');
    },
  };
}

/** A raw connection: what it received, and a promise of its close. */
function raw(port: number): { socket: Socket; received: () => string; closed: Promise<void>; answers: () => string[] } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => {});
  open.push({ close: () => socket.destroy() });
  return {
    socket,
    received: () => text,
    closed: new Promise((resolve) => socket.on('close', () => resolve())),
    answers: () => text.split(/(?=HTTP\/1\.1 )/).filter((a) => a !== ''),
  };
}

/** Resolves once `check` holds (polled), or fails the test after 10 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > 10_000) throw new Error(`not within 10 s: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;

describe('drain', () => {
  it('stops listening at once; answers a request in flight (with Connection: close) before it resolves, never cutting it', async () => {
    const s = await serve();
    const c = raw(s.port);
    c.socket.write(GET('/slow'));
    await until(() => s.slow() === 1, 'the slow request reaches the handler');
    let done = false;
    const drained = s.server.drain({ timeoutMs: 30_000, lingerMs: 100 }).finally(() => (done = true));
    const refused = await send(false, s.port, { method: 'GET', path: '/' });
    expect(isFailure(refused) && refused.kind).toBe('refused');
    // Past the linger, the connection owing an answer is still open and the drain still waits.
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    expect(c.socket.destroyed).toBe(false);
    s.release();
    const d = await drained;
    await c.closed;
    expect(c.answers()).toHaveLength(1);
    expect(c.received()).toMatch(/connection: close/i);
    expect(c.received()).toContain('slow answer');
    expect(d).toMatchObject({ answered: 1, cut: 0, cutOwing: 0 });
  });

  it('answers a request sent on an idle keep-alive connection during the linger, with Connection: close', async () => {
    const s = await serve();
    const c = raw(s.port);
    c.socket.write(GET('/1'));
    await until(() => c.answers().length === 1, 'the first answer');
    expect(c.received()).toMatch(/connection: keep-alive/i);
    const drained = s.server.drain({ timeoutMs: 30_000, lingerMs: 20_000 });
    c.socket.write(GET('/2'));
    await c.closed;
    const answers = c.answers();
    expect(answers).toHaveLength(2);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 200 /);
    expect(answers[1]).toMatch(/connection: close/i);
    // The last connection closed: the drain ends without waiting out the linger.
    expect(await drained).toMatchObject({ answered: 1, cut: 0 });
  });

  it('closes an idle keep-alive connection once the linger is over', async () => {
    const s = await serve();
    const c = raw(s.port);
    c.socket.write(GET('/1'));
    await until(() => c.answers().length === 1, 'the first answer');
    const d = await s.server.drain({ timeoutMs: 30_000, lingerMs: 200 });
    await c.closed;
    expect(d.ms).toBeGreaterThanOrEqual(190);
    expect(d).toMatchObject({ answered: 0, cut: 0 });
  });

  it('cuts what is left at the timeout, and says how many owed an answer', async () => {
    const s = await serve();
    const c = raw(s.port);
    c.socket.write(GET('/slow'));
    await until(() => s.slow() === 1, 'the slow request reaches the handler');
    const d = await s.server.drain({ timeoutMs: 300 });
    await c.closed;
    expect(c.received()).toBe('');
    expect(d).toMatchObject({ cut: 1, cutOwing: 1 });
  });

  it('closes a connection whose answer went out keep-alive before the drain once that answer ends', async () => {
    const s = await serve();
    const c = raw(s.port);
    c.socket.write(GET('/stream'));
    await until(() => c.received().endsWith('part\r\n'), 'the first part');
    expect(c.received()).toMatch(/connection: keep-alive/i);
    const drained = s.server.drain({ timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 100));
    expect(c.socket.destroyed).toBe(false);
    s.release();
    await c.closed;
    expect(c.received()).toMatch(/ end\r\n0\r\n\r\n$/);
    expect(await drained).toMatchObject({ answered: 1, cut: 0 });
  });

  it('pipelined requests in flight are all answered, the last one with Connection: close', async () => {
    const s = await serve();
    const c = raw(s.port);
    c.socket.write(GET('/slow') + GET('/slow') + GET('/slow'));
    await until(() => s.slow() === 3, 'the pipelined requests reach the handler');
    const drained = s.server.drain({ timeoutMs: 30_000 });
    s.release();
    await c.closed;
    const answers = c.answers();
    expect(answers).toHaveLength(3);
    expect(answers.map((a) => /connection: close/i.test(a))).toEqual([false, false, true]);
    expect(await drained).toMatchObject({ answered: 3, cut: 0 });
  });

  it('a request pipelined behind an answer that closes the connection is answered first if that answer has not started, else left unread', async () => {
    // Both handled: the close moves to the last answer.
    const s = await serve({ maxRequestsPerConnection: 1 });
    const c = raw(s.port);
    c.socket.write(GET('/1') + GET('/2'));
    await c.closed;
    expect(c.answers().map((a) => /connection: close/i.test(a))).toEqual([false, true]);
    expect(s.handled()).toBe(2);
    // The answer saying close is on its way: what comes after it never reaches the handler (its answer could not be sent).
    const streaming = raw(s.port);
    streaming.socket.write(GET('/stream'));
    await until(() => streaming.received().endsWith('part\r\n'), 'the first part');
    expect(streaming.received()).toMatch(/connection: close/i);
    streaming.socket.write(GET('/3'));
    await new Promise((r) => setTimeout(r, 100));
    s.release();
    await streaming.closed;
    expect(streaming.answers()).toHaveLength(1);
    expect(s.handled()).toBe(3);
  });

  it('the probe server and the JSON API drain on close', async () => {
    const probes = await startProbeServer({ address: '127.0.0.1:0', registry: new Registry(), ready: () => true });
    const idle = raw(probes.port);
    idle.socket.write(GET('/healthz'));
    await until(() => idle.answers().length === 1, 'the probe answer');
    expect(await probes.close()).toMatchObject({ cut: 0 });
    await idle.closed;

    let release = (): void => {};
    const api = await startJsonApi({
      address: '127.0.0.1:0',
      log: createLogger('drain-test', 'silent'),
      maxBody: () => 1024,
      handle: () => new Promise((resolve) => (release = () => resolve({ status: 200, json: { ok: true } }))),
    });
    const c = raw(api.port);
    c.socket.write(GET('/v1/x'));
    await new Promise((r) => setTimeout(r, 100));
    const drained = api.close({ timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 100));
    release();
    expect(await drained).toMatchObject({ answered: 1, cut: 0 });
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 [\s\S]*connection: close[\s\S]*\{"ok":true\}$/i);
  });

  // Busy clients, as in a rolling restart: with a linger, a client busy on a
  // connection gets its next answer with Connection: close; without one,
  // connections idle for a moment between two requests are closed under
  // clients that have just sent on them. Either way nothing read is lost.
  it.each([0, 1000])('32 busy keep-alive clients, linger %i ms: every request handled is answered, every failure was never read', async (lingerMs) => {
    const s = await serve();
    let answers = 0;
    const load = runClients({
      port: s.port,
      clients: 32,
      next: () => ({ method: 'POST', path: '/', body: '{}' }),
      onAnswer: (a) => {
        if (a.status === 200) answers++;
      },
      stop: () => false,
    });
    await until(() => answers >= 2000, '2,000 answers before the drain');
    const d = await s.server.drain({ timeoutMs: 10_000, lingerMs });
    const r = await load;
    console.log(`linger ${lingerMs} ms: ${describeLoad(r)}; drain ${d.ms} ms`);
    expect(d.cut).toBe(0);
    expect(r.unsafe).toEqual([]);
    // Every request the handler saw was answered: the ones that failed were never read.
    expect(answers).toBe(s.handled());
    expect(r.answers).toBe(answers);
  });
});
