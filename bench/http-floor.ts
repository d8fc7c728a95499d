// The HTTP floor: a minimal node:http server answering a constant JSON body
// the size of a mac_state answer. `node bench/http-floor.ts` prints its port.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = JSON.stringify({ mac_state: { mac_address: 'aa:bb:cc:00:00:01', project_id: 'project-1', vpc_id: 'vpc-1', port_id: 'port-000001', state: 'Active' } });
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ msg: 'macd listening', port: (server.address() as AddressInfo).port }) + '\n');
});
