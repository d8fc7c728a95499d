// Run inside a namespace: sends crafted packets, each from a chosen local
// address and port (a relay's address and port 67, or a client's port 68),
// to HOST:67 and prints every reply received within WAIT_MS as JSON:
// [{"hex": "...", "at": "10.0.0.2:67"}] (the local socket that got it).
// Usage: node exchange.ts FILE HOST WAIT_MS
// FILE: [{"hex": "...", "from": "10.0.0.2", "port": 67}] ("from" defaults to 0.0.0.0, "port" to 67).

import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';

interface Send {
  hex: string;
  from?: string;
  port?: number;
}

const [file, host, waitMs] = process.argv.slice(2);
if (!file || !host) throw new Error('usage: exchange.ts FILE HOST WAIT_MS');
const sends = JSON.parse(readFileSync(file, 'utf8')) as Send[];
const replies: Array<{ hex: string; at: string }> = [];
const sockets = new Map<string, Socket>();

async function socketFor(from: string, port: number): Promise<Socket> {
  const key = `${from}:${port}`;
  const existing = sockets.get(key);
  if (existing) return existing;
  // reuseAddr: a socket on 0.0.0.0:68 (broadcast replies) beside ones on given addresses.
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (m) => replies.push({ hex: m.toString('hex'), at: key }));
  await new Promise<void>((resolve) => s.bind(port, from, resolve));
  s.setBroadcast(true);
  sockets.set(key, s);
  return s;
}

for (const p of sends) {
  const s = await socketFor(p.from ?? '0.0.0.0', p.port ?? 67);
  await new Promise<void>((resolve, reject) => s.send(Buffer.from(p.hex, 'hex'), 67, host, (err) => (err ? reject(err) : resolve())));
}
await new Promise((r) => setTimeout(r, Number(waitMs ?? 500)));
process.stdout.write(JSON.stringify(replies));
for (const s of sockets.values()) s.close();
