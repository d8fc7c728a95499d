import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { httpLimitValues, type HttpLimitsInput } from '../../src/api/http-limits.ts';
import { jsonTooDeep, onServer, queryOf } from '../../src/process/http-input.ts';
import { createLimitedServer, listen } from '../../src/process/http-limits.ts';
import { ApiFailure, startJsonApi } from '../../src/process/json-api.ts';
import { createLogger } from '../../src/process/log.ts';
import { startProbeServer } from '../../src/process/probes.ts';

// The shared limit layer under every listener: bodies refused before they
// are buffered, slow and idle clients cut off, connections capped. Driven over
// loopback with raw sockets, so each byte's timing is the test's.

const open: { close(): void }[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

/** A limited server whose handler records the bodies it was given. */
async function serve(limits: HttpLimitsInput = {}): Promise<{ port: number; bodies: number[] }> {
  const bodies: number[] = [];
  const server: Server = createLimitedServer({
    limits: httpLimitValues(limits),
    handle: (_req, res, body) => {
      bodies.push(body.length);
      const text = `got ${body.length}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': text.length }).end(text);
    },
  });
  const port = await listen(server, '127.0.0.1', 0);
  open.push({ close: () => (server.close(), server.closeAllConnections()) });
  return { port, bodies };
}

/** A raw connection: what it received, and when it closed (ms after opening). */
function raw(port: number): { socket: Socket; received: () => string; closed: Promise<number> } {
  const t0 = Date.now();
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => {});
  open.push({ close: () => socket.destroy() });
  return { socket, received: () => text, closed: new Promise((resolve) => socket.on('close', () => resolve(Date.now() - t0))) };
}

/**
 * Sends a request with a chunked body of `total` bytes over a raw socket (a
 * client that keeps sending whatever the server answers). Settles when the
 * connection closes or, the body sent, the answer is in: its status (0: none)
 * and whether the whole body went out.
 */
function postChunked(port: number, total: number): Promise<{ status: number; body: string; sentAll: boolean }> {
  return new Promise((resolve) => {
    const c = raw(port);
    let sent = 0;
    let sentAll = false;
    const result = () => {
      const text = c.received();
      const m = /^HTTP\/1\.1 (\d+)/.exec(text);
      return { status: m ? Number(m[1]) : 0, body: text.slice(text.indexOf('\r\n\r\n') + 4), sentAll };
    };
    c.socket.write('POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x61), Buffer.from('\r\n')]);
    const pump = (): void => {
      while (sent < total && !c.socket.destroyed) {
        sent += 0x10000;
        if (!c.socket.write(chunk)) return void c.socket.once('drain', pump);
      }
      if (c.socket.destroyed) return;
      c.socket.write('0\r\n\r\n', () => {
        sentAll = true;
        const wait = setInterval(() => {
          const text = c.received();
          const len = /content-length: (\d+)/i.exec(text);
          if (text.includes('\r\n\r\n') && (len ? result().body.length >= Number(len[1]) : text.endsWith('0\r\n\r\n'))) {
            clearInterval(wait);
            c.socket.destroy();
          }
        }, 20);
      });
    };
    void c.closed.then(() => resolve(result()));
    pump();
  });
}

describe('body limit', () => {
  it('a declared Content-Length over the limit is 413 body_too_large before a byte of the body is read', async () => {
    const s = await serve({ maxRequestBytes: 1024 });
    const c = raw(s.port);
    c.socket.write('POST /x HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 30000000\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(c.received()).toContain('"reason":"body_too_large"');
    expect(s.bodies).toEqual([]);
    // A client that never sends the body it announced is cut off after 5 s.
    expect(await c.closed).toBeLessThan(8000);
  });

  it('Expect: 100-continue over the limit is refused without asking for the body', async () => {
    const s = await serve({ maxRequestBytes: 1024 });
    const c = raw(s.port);
    c.socket.write('POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(c.received()).not.toContain('100 Continue');
    // A client that sends the body anyway still reads the refusal.
    for (let i = 0; i < 3; i++) {
      const eager = raw(s.port);
      eager.socket.write(`POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4000000\r\n\r\n${'a'.repeat(4_000_000)}`);
      await eager.closed;
      expect(eager.received()).toMatch(/^HTTP\/1\.1 413 /);
    }
    // An expectation other than 100-continue: 417, read by a client that sends its body anyway.
    for (let i = 0; i < 3; i++) {
      const odd = raw(s.port);
      odd.socket.write(`POST /x HTTP/1.1\r\nHost: t\r\nExpect: something\r\nContent-Length: 4000000\r\n\r\n${'a'.repeat(4_000_000)}`);
      await odd.closed;
      expect(odd.received()).toMatch(/^HTTP\/1\.1 417 /);
    }
    // ...and with garbage after a request that has no body.
    const trailing = raw(s.port);
    trailing.socket.write('POST /x HTTP/1.1\r\nHost: t\r\nExpect: something\r\nConnection: close\r\n\r\n\u0001garbage\r\n\r\n');
    await trailing.closed;
    expect(trailing.received()).toMatch(/^HTTP\/1\.1 417 /);
    // Within the limit: 100 Continue, then the answer.
    const ok = raw(s.port);
    ok.socket.write('POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(ok.received()).toMatch(/^HTTP\/1\.1 100 Continue/);
    ok.socket.write('hello');
    await ok.closed;
    expect(ok.received()).toContain('got 5');
  });

  it('a chunked body is refused as soon as it passes the limit: 413, the handler never sees it; the rest is read and dropped', async () => {
    const s = await serve({ maxRequestBytes: 1024 * 1024 });
    const r = await postChunked(s.port, 8 * 1024 * 1024);
    expect(r.status).toBe(413);
    expect(r.sentAll).toBe(true);
    expect(JSON.parse(r.body)).toMatchObject({ status: 413, reason: 'body_too_large', message: 'the request body exceeds 1048576 bytes', path: '/x' });
    expect(s.bodies).toEqual([]);
    // Exactly the limit is served.
    expect(await postChunked(s.port, 1024 * 1024)).toMatchObject({ status: 200, body: `got ${1024 * 1024}` });
    expect(s.bodies).toEqual([1024 * 1024]);
  });

  it('after a 413 the rest of the body is read and thrown away only up to 64 MiB: a client that keeps sending is cut off', async () => {
    const s = await serve({ maxRequestBytes: 1024 * 1024 });
    const r = await postChunked(s.port, 1024 * 1024 * 1024);
    expect(r.sentAll).toBe(false);
    expect(s.bodies).toEqual([]);
  });
});

describe('time and connections', () => {
  it('a client that connects and sends nothing, or sends its headers too slowly, gets 408 and is disconnected after headersTimeout', async () => {
    const s = await serve({ headersTimeout: '1s', requestTimeout: '2s' });
    const silent = raw(s.port);
    const slow = raw(s.port);
    slow.socket.write('GET / HTTP/1.1\r\nHost: t\r\n');
    const drip = setInterval(() => slow.socket.write('X-Drip: 1\r\n'), 200);
    const [silentMs, slowMs] = await Promise.all([silent.closed, slow.closed]);
    clearInterval(drip);
    for (const [c, ms] of [[silent, silentMs], [slow, slowMs]] as const) {
      expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(4000);
    }
  });

  it('a body sent too slowly is cut off after requestTimeout', async () => {
    const s = await serve({ headersTimeout: '1s', requestTimeout: '2s' });
    const c = raw(s.port);
    c.socket.write('POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n');
    const drip = setInterval(() => c.socket.write('a'), 200);
    const ms = await c.closed;
    clearInterval(drip);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThan(5000);
    expect(s.bodies).toEqual([]);
  });

  it('an idle keep-alive connection is closed after keepAliveTimeout, announced in Keep-Alive', async () => {
    const s = await serve({ keepAliveTimeout: '1s' });
    const c = raw(s.port);
    c.socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    const ms = await c.closed;
    expect(c.received()).toMatch(/keep-alive: timeout=1/i);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(4000);
  });

  it('the request that reaches maxRequestsPerConnection is answered with Connection: close, and the connection closes', async () => {
    const s = await serve({ maxRequestsPerConnection: 2 });
    const c = raw(s.port);
    c.socket.write('GET /1 HTTP/1.1\r\nHost: t\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    c.socket.write('GET /2 HTTP/1.1\r\nHost: t\r\n\r\n');
    await c.closed;
    const answers = c.received().split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/connection: keep-alive/i);
    expect(answers[1]).toMatch(/connection: close/i);
  });

  it('connections beyond maxConnections are closed at once; the ones within are served', async () => {
    const s = await serve({ maxConnections: 2 });
    const a = raw(s.port);
    const b = raw(s.port);
    await new Promise((r) => setTimeout(r, 200));
    const extra = raw(s.port);
    const ms = await extra.closed;
    expect(ms).toBeLessThan(1000);
    expect(extra.received()).toBe('');
    a.socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(a.received()).toMatch(/^HTTP\/1\.1 200 /);
    // One closes: room for a new one.
    b.socket.destroy();
    await b.closed;
    await new Promise((r) => setTimeout(r, 100));
    const next = raw(s.port);
    next.socket.write('GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    await next.closed;
    expect(next.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('CONNECT is answered 405 and the connection closed within a second, whatever follows it (node would keep it out of every timeout)', async () => {
    const s = await serve();
    const c = raw(s.port);
    c.socket.write(`CONNECT example.org:443 HTTP/1.1\r\nHost: example.org\r\n\r\n${'x'.repeat(100_000)}`);
    expect(await c.closed).toBeLessThan(3000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 405 /);
  });

  it('a request the parser refuses is answered 400 even while its client is still sending a large body', async () => {
    const s = await serve();
    for (let i = 0; i < 5; i++) {
      const c = raw(s.port);
      c.socket.write(`B@D /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000\r\n\r\n${'a'.repeat(4_000_000)}`);
      await c.closed;
      expect(c.received()).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(s.bodies).toEqual([]);
  });

  it('garbage after a request on the same connection is refused only after that request is answered, in order', async () => {
    const bodies: number[] = [];
    const server = createLimitedServer({
      handle: (_req, res, body) => {
        // Answered later, as macd answers after its log write.
        setTimeout(() => res.writeHead(200, { 'content-length': 2 }).end('ok'), 100);
        bodies.push(body.length);
      },
    });
    const port = await listen(server, '127.0.0.1', 0);
    open.push({ close: () => (server.close(), server.closeAllConnections()) });
    // Connection: close: the answer to the request, and nothing for what follows it.
    const closing = raw(port);
    closing.socket.write('DELETE /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n\u0001garbage\r\n\r\n');
    await closing.closed;
    expect(closing.received()).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(closing.received()).not.toMatch(/400/);
    // Kept alive: the answer, then the refusal of the garbage.
    const kept = raw(port);
    kept.socket.write('DELETE /x HTTP/1.1\r\nHost: t\r\n\r\n\u0001garbage\r\n\r\n');
    await kept.closed;
    expect(kept.received()).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*okHTTP\/1\.1 400 Bad Request/);
    expect(bodies).toEqual([0, 0]);
  });

  it('a header block over 16 KiB is 431', async () => {
    const s = await serve();
    const c = raw(s.port);
    c.socket.write(`GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: t\r\n\r\n`);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 431 /);
  });
});

describe('probe server', () => {
  it('applies the same layer: a body over the limit is 413 before it is read, slow headers 408', async () => {
    const registry = new Registry();
    const p = await startProbeServer({ address: '127.0.0.1:0', registry, ready: () => true, limits: httpLimitValues({ maxRequestBytes: 1024, headersTimeout: '1s', requestTimeout: '2s' }) });
    open.push({ close: () => void p.close() });
    expect((await fetch(`http://127.0.0.1:${p.port}/readyz`)).status).toBe(200);
    const big = await postChunked(p.port, 16 * 1024 * 1024);
    expect(big.status).toBe(413);
    expect(big.body).toBe('the request body exceeds 1024 bytes');
    const silent = raw(p.port);
    expect(await silent.closed).toBeLessThan(4000);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('JSON API transport (dhcpd lease API)', () => {
  it('applies the same layer: a per-route body limit (413 before reading, in the shared error shape), timeouts, 400 for a path that does not decode', async () => {
    const seen: string[] = [];
    const api = await startJsonApi({
      address: '127.0.0.1:0',
      log: createLogger('json-api-test', 'silent'),
      limits: httpLimitValues({ headersTimeout: '1s', requestTimeout: '2s' }),
      maxBody: (method, path) => (method === 'POST' && path === '/big' ? 1024 * 1024 : 1024),
      handle: async (req) => {
        seen.push(`${req.method} ${req.path} ${req.body.length}`);
        if (req.path === '/refuse') throw new ApiFailure(409, 'conflict', 'x'.repeat(10));
        return { status: 200, json: { ok: true } };
      },
    });
    open.push({ close: () => void api.close() });
    const base = `http://127.0.0.1:${api.port}`;
    const small = await fetch(`${base}/small`, { method: 'POST', body: 'a'.repeat(2000) });
    expect(small.status).toBe(413);
    expect(await small.json()).toMatchObject({ status: 413, error: 'Payload Too Large', reason: 'body_too_large', path: '/small' });
    expect((await fetch(`${base}/big`, { method: 'POST', body: 'a'.repeat(2000) })).status).toBe(200);
    const chunked = await postChunked(api.port, 8 * 1024 * 1024);
    expect(chunked.status).toBe(413);
    // A network-path target (a URL parser would read a host in it) is a path like any other.
    const odd = raw(api.port);
    odd.socket.write('GET //@@/leases?x=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    await odd.closed;
    expect(odd.received()).toMatch(/^HTTP\/1\.1 200 /);
    const bad = await fetch(`${base}/%E0%A4%A`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { reason: string }).reason).toBe('invalid_request');
    expect(seen).toEqual(['POST /big 2000', 'GET //@@/leases 0']);
    const silent = raw(api.port);
    expect(await silent.closed).toBeLessThan(4000);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('request targets', () => {
  it('a target forwarded to a peer stays on the peer, whatever it holds', () => {
    const u = onServer('http://macd-1.peers.ns.svc:8080', '//macs/aa:bb:cc:00:00:01?x=1');
    expect(u.host).toBe('macd-1.peers.ns.svc:8080');
    expect(u.pathname).toBe('//macs/aa:bb:cc:00:00:01');
    expect(u.search).toBe('?x=1');
    expect(onServer('http://peer:1', 'http://evil/macs').host).toBe('peer:1');
    expect(queryOf('//@@/x?limit=5&a=%ZZ').get('limit')).toBe('5');
    expect(queryOf(undefined).toString()).toBe('');
  });
});

describe('JSON depth', () => {
  it.each([
    ['{"mac_states":[{"port_id":"p"}]}', 3, false],
    ['{"mac_states":[{"port_id":"p"}]}', 2, true],
    ['{"a":"[[[[[[[[[[[[[["}', 1, false],
    ['{"a":"\\"[[[[["}', 1, false],
    ['[1]\n[2]\n[3]', 1, false],
    ['[[1]]\n[2]', 1, true],
    ['[' .repeat(200_000) + ']'.repeat(200_000), 32, true],
    ['not json at all', 0, false],
  ])('%j deeper than %i: %s', (text, max, want) => {
    expect(jsonTooDeep(Buffer.from(text), max)).toBe(want);
  });
});

describe('limits schema', () => {
  it('defaults, units, and headersTimeout within requestTimeout', () => {
    expect(httpLimitValues()).toEqual({
      maxRequestBytes: 1_048_576,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 1024,
      maxRequestsPerConnection: 10_000,
    });
    expect(() => httpLimitValues({ headersTimeout: '40s' })).toThrow(/headersTimeout must not be longer than requestTimeout/);
    expect(() => httpLimitValues({ requestTimeout: '2h' })).toThrow(/requestTimeout must be between 1s and 1h/);
    expect(() => httpLimitValues({ maxRequestBytes: 10 })).toThrow();
  });
});
