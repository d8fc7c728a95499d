// Run inside a namespace: sends the hex packets listed in a JSON file to
// HOST:67 from port 67 (as a relay would) and prints the replies received
// within WAIT_MS as a JSON array of hex strings.
// Usage: node send-packets.ts FILE HOST WAIT_MS

import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const [file, host, waitMs] = process.argv.slice(2);
if (!file || !host) throw new Error('usage: send-packets.ts FILE HOST WAIT_MS');
const packets = JSON.parse(readFileSync(file, 'utf8')) as string[];
const replies: string[] = [];
const s = createSocket('udp4');
s.on('message', (m) => replies.push(m.toString('hex')));
s.bind(67, () => {
  let i = 0;
  const next = (): void => {
    if (i >= packets.length) {
      setTimeout(() => {
        process.stdout.write(JSON.stringify(replies));
        s.close();
      }, Number(waitMs ?? 500));
      return;
    }
    const buf = Buffer.from(packets[i++] as string, 'hex');
    s.send(buf, 67, host, () => (i % 200 === 0 ? setTimeout(next, 5) : next()));
  };
  next();
});
