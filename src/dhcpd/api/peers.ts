// The other replicas of a DhcpSubnet, which hold the other shares of its
// leases: read from the EndpointSlices of the subnet's Service (every
// endpoint with an address, ready or not: a replica that does not answer must
// show as missing, not be silently left out), or given as URLs (--peer)
// where no Kubernetes runs. Calls to them are plain HTTP on their API port.

import { Agent, request, type IncomingMessage } from 'node:http';
import type { KubeClient } from '../../runtime/client.ts';

export interface Peer {
  /** The replica's name (its pod), or its URL for a static peer. */
  name: string;
  url: string;
}

export type PeerSource = () => Promise<Peer[]>;

interface EndpointSliceList {
  items: Array<{
    addressType?: string;
    ports?: Array<{ name?: string; port?: number }> | null;
    endpoints?: Array<{ addresses: string[]; targetRef?: { name?: string } }> | null;
  }>;
}

export interface SlicePeersOptions {
  client: KubeClient;
  namespace: string;
  /** The Service whose endpoints are the replicas. */
  service: string;
  /** The name of the API port on the Service. */
  portName: string;
  /** This replica's pod name: left out of the peers. */
  self: string;
  /** How long a read stays good (ms). */
  cacheMs?: number;
}

export function endpointSlicePeers(o: SlicePeersOptions): PeerSource {
  let cached: { at: number; peers: Promise<Peer[]> } | undefined;
  const read = async (): Promise<Peer[]> => {
    const selector = encodeURIComponent(`kubernetes.io/service-name=${o.service}`);
    const list = await o.client.get<EndpointSliceList>(`/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/endpointslices?labelSelector=${selector}`);
    const peers = new Map<string, Peer>();
    for (const slice of list.items) {
      if (slice.addressType !== undefined && slice.addressType !== 'IPv4') continue;
      const port = slice.ports?.find((p) => p.name === o.portName)?.port;
      if (port === undefined) continue;
      for (const ep of slice.endpoints ?? []) {
        const address = ep.addresses[0];
        const name = ep.targetRef?.name ?? address;
        if (address === undefined || name === undefined || name === o.self) continue;
        peers.set(name, { name, url: `http://${address}:${port}` });
      }
    }
    return [...peers.values()].sort((a, b) => a.name.localeCompare(b.name));
  };
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > (o.cacheMs ?? 2000)) {
      cached = { at: now, peers: read() };
      cached.peers.catch(() => (cached = undefined));
    }
    return cached.peers;
  };
}

export function staticPeers(urls: readonly string[]): PeerSource {
  const peers = urls.map((url) => ({ name: url, url: url.replace(/\/$/, '') }));
  return async () => peers;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** A peer's answer: status and body text. */
export interface PeerAnswer {
  status: number;
  body: string;
}

/** One call to a peer; rejects when it does not answer (connection refused, timeout). */
export function callPeer(peer: Peer, method: string, path: string, body?: string, timeoutMs = 30_000): Promise<PeerAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${peer.url}${path}`,
      { method, agent, timeout: timeoutMs, headers: body === undefined ? {} : { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A peer's answer as a stream (an export). */
export function streamPeer(peer: Peer, path: string, timeoutMs = 30_000): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(`${peer.url}${path}`, { method: 'GET', agent, timeout: timeoutMs }, resolve);
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
