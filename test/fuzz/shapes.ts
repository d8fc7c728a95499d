// What the fuzz sends, seeded from the APIs' real shapes so that cases get
// past the JSON parser into the routes, the validation and the store: Alcor's
// mac_state / mac_states / mac_range bodies for macd, the backup lines of
// src/api/backup.ts for dhcpd's lease API, each field sometimes right,
// sometimes at a limit, sometimes wrong. A value that depends on the server's
// state (a MAC it has handed out, a range it has) is a Ref, resolved against
// the model when the case is sent, so printed counterexamples stay readable.

import fc from 'fast-check';
import { framing, headers, junkBody, jsonContentType, methods, rawRequest, type Framing } from './wire.ts';

/** A value taken from the live model when the case is sent. */
export interface Ref {
  ref: string;
  n: number;
}
export const ref = (name: string): fc.Arbitrary<Ref> => fc.nat().map((n) => ({ ref: name, n }));
export const isRef = (v: unknown): v is Ref => typeof v === 'object' && v !== null && typeof (v as Ref).ref === 'string' && typeof (v as Ref).n === 'number' && Object.keys(v).length === 2;

/** One case: a request, abstract. */
export interface Case {
  method: string;
  /** Path segments; a Ref segment is resolved, a string one sent as is. */
  path: (string | Ref)[];
  v4?: boolean;
  query?: string;
  headers: [string, string][];
  /** JSON, JSON lines (a backup), raw bytes, or none. */
  body: { json: unknown } | { lines: unknown[] } | { bytes: Buffer } | null;
  framing: Framing;
  chunk?: number;
  raw?: Buffer;
}

const octet = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));

/** MAC text: in range0, anywhere, upper case, malformed, junk. */
export const macText = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(octet, octet, octet).map((t) => `aa:bb:cc:${t.join(':')}`) },
  { weight: 2, arbitrary: fc.array(octet, { minLength: 6, maxLength: 6 }).map((a) => a.join(':')) },
  { weight: 1, arbitrary: fc.tuple(octet, octet, octet).map((t) => `AA:BB:CC:${t.join(':')}`.toUpperCase()) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('aa:bb:cc:00:00', 'aa-bb-cc-00-00-01', 'aabbcc000001', 'zz:bb:cc:00:00:01', 'aa:bb:cc:00:00:001', ':::::', 'aa:bb:cc:00:00:0g', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00', ' aa:bb:cc:00:00:01', '01:00:5e:00:00:01', ''),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 24, unit: 'binary' }) },
);

/** An id (project_id, vpc_id, port_id, range_id): mostly what Alcor sends; sometimes at the limit, past it, or wrong. */
export const idValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: fc.oneof({ weight: 6, arbitrary: fc.uuid() }, { weight: 2, arbitrary: fc.stringMatching(/^[0-9a-f]{32}$/) }, { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:@-]{1,20}$/) }) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constantFrom(63, 64, 65, 255).map((n) => 'x'.repeat(n)),
      fc.string({ maxLength: 30, unit: 'binary' }),
      fc.constantFrom<unknown>('', ' ', null, 0, true, [], {}, 'a b', 'p"q', 'ü', '\u0000', 'x\ny'),
      fc.nat({ max: 900_000 }).map((n) => 'y'.repeat(n)),
    ),
  },
);

/** A value of the wrong kind anywhere a field goes. */
const wrong: fc.Arbitrary<unknown> = fc.oneof(fc.constantFrom<unknown>(null, 0, -1, 1.5, true, [], {}, ''), fc.json({ maxDepth: 2 }).map((s) => JSON.parse(s) as unknown));

/** Mostly `right`, once in 13 cases `bad` (default: a value of the wrong kind). */
function sometimesWrong<T>(right: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown> = wrong): fc.Arbitrary<T | unknown> {
  return fc.oneof({ weight: 12, arbitrary: right }, { weight: 1, arbitrary: bad });
}

/** Optional fields: present with a value, or absent. */
function fields(spec: Record<string, fc.Arbitrary<unknown>>, required: string[] = []): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(spec, { requiredKeys: required }).chain((o) => fc.oneof({ weight: 5, arbitrary: fc.constant(o) }, { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), wrong, { maxKeys: 3 }).map((extra) => ({ ...extra, ...o })) }));
}

// ---- macd: Alcor's MAC manager API ----

const macField = fc.oneof({ weight: 3, arbitrary: ref('knownMac') }, { weight: 3, arbitrary: ref('rangeMac') }, { weight: 4, arbitrary: macText }, { weight: 1, arbitrary: wrong });

export const macState: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 12,
    arbitrary: fields(
      {
        mac_address: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: macField }),
        project_id: idValue,
        vpc_id: idValue,
        port_id: idValue,
        state: fc.oneof({ weight: 12, arbitrary: fc.constantFrom('Active', 'Inactive') }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('active', 'Deleted', ''), wrong) }),
      },
      ['port_id'],
    ),
  },
  { weight: 1, arbitrary: wrong },
);

const bulk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 20, arbitrary: fc.array(macState, { maxLength: 24 }) },
  // At and past the default bulk limit (10,000): cheap entries, so the count is what matters.
  { weight: 1, arbitrary: fc.constantFrom(10_000, 10_001, 20_000).map((n) => Array.from({ length: n }, (_, i) => ({ port_id: `bulk-${i}` }))) },
  { weight: 1, arbitrary: wrong },
);

const rangeIdField = fc.oneof({ weight: 3, arbitrary: ref('rangeId') }, { weight: 3, arbitrary: fc.nat({ max: 50 }).map((n) => `fz-${n}`) }, { weight: 2, arbitrary: idValue });

/** A range: mostly a small block in range0 or just above it (valid), or anything. */
const rangeBody: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ oui: fc.constantFrom('aa:bb:cc', 'aa:bb:cd'), hi: octet, mid: octet, id: rangeIdField, state: fc.constantFrom('Active', 'Active', 'Inactive') })
      .map((r) => ({ range_id: r.id, from: `${r.oui}:${r.hi}:${r.mid}:00`, to: `${r.oui}:${r.hi}:${r.mid}:ff`, state: r.state })),
  },
  { weight: 2, arbitrary: fields({ range_id: rangeIdField, from: macText, to: macText, state: fc.oneof(fc.constantFrom('Active', 'Inactive'), wrong) }) },
  { weight: 1, arbitrary: wrong },
);

const body = {
  state: fc.oneof({ weight: 8, arbitrary: macState.map((s) => ({ json: { mac_state: s } })) }, { weight: 1, arbitrary: junkBody.map((bytes) => ({ bytes })) }),
  bulk: fc.oneof({ weight: 8, arbitrary: bulk.map((s) => ({ json: { mac_states: s } })) }, { weight: 1, arbitrary: junkBody.map((bytes) => ({ bytes })) }),
  range: fc.oneof({ weight: 8, arbitrary: rangeBody.map((r) => ({ json: { mac_range: r } })) }, { weight: 1, arbitrary: junkBody.map((bytes) => ({ bytes })) }),
  any: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.oneof(macState.map((s) => ({ json: { mac_state: s } })), bulk.map((s) => ({ json: { mac_states: s } })), rangeBody.map((r) => ({ json: { mac_range: r } }))) },
    { weight: 2, arbitrary: junkBody.map((bytes) => ({ bytes })) },
  ),
};

/** A path segment that should name something, or is odd. */
function segment(refName: string, literal: fc.Arbitrary<string>): fc.Arbitrary<string | Ref> {
  return fc.oneof(
    { weight: 6, arbitrary: ref(refName) },
    { weight: 3, arbitrary: literal },
    { weight: 1, arbitrary: literal.map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '%', '%E0%A4%A', '%00', '%2F', 'a%20b', '%C3%BC', '*', '~') },
    { weight: 1, arbitrary: fc.nat({ max: 3000 }).map((n) => 'z'.repeat(n)) },
  );
}

const macSeg = segment('knownMac', macText.map((s) => s.replace(/[^\x21-\x7e]/g, '')));
const rangeSeg = segment('rangeId', fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:@-]{1,20}$/), fc.constant('range0')));

interface Endpoint {
  method: string;
  path: (string | Ref)[];
  body: Case['body'];
  /** The endpoint's own query (admin filters, import mode); else a random one, rarely. */
  query?: string;
}

const endpoint = (method: fc.Arbitrary<string>, path: fc.Arbitrary<(string | Ref)[]>, b: fc.Arbitrary<Case['body']>): fc.Arbitrary<Endpoint> => fc.record({ method, path, body: b });
const none = fc.constant(null);
const probePath: fc.Arbitrary<(string | Ref)[]> = fc.constantFrom(['healthz'], ['readyz'], ['livez'], ['metrics'], ['metrics', 'x'], [''], ['favicon.ico']).map((p) => [...p]);
const anyPath = fc.array(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~%:@-]{0,12}$/), fc.constantFrom('macs', 'v4', 'ranges', 'range', 'bulk', 'v1', 'leases', 'import', 'export')), { maxLength: 6 });

/** A value once in `n` cases, else null. */
const rarely = <T>(a: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> => fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a });

/** Finishes a case: sometimes another method, /v4, a query, headers, framing; rarely not a request at all. */
function finish(ep: fc.Arbitrary<Endpoint>, opts: { v4: boolean }): fc.Arbitrary<Case> {
  const request = fc
    .record({
      ep,
      otherMethod: rarely(methods, 12),
      v4: opts.v4 ? fc.boolean() : fc.constant(false),
      query: rarely(fc.oneof(fc.stringMatching(/^[A-Za-z0-9=&%._-]{0,30}$/), fc.constantFrom('limit=1', 'local=true', 'a=%ZZ')), 8),
      headers,
      jsonType: jsonContentType,
      framing,
    })
    .map(
      (r): Case => ({
        method: r.otherMethod ?? r.ep.method,
        path: r.ep.path,
        ...(r.v4 ? { v4: true } : {}),
        ...(r.ep.query !== undefined ? { query: r.ep.query } : r.query !== null ? { query: r.query } : {}),
        headers: [...r.jsonType, ...r.headers],
        body: r.ep.body,
        ...r.framing,
      }),
    );
  return fc.oneof({ weight: 40, arbitrary: request }, { weight: 1, arbitrary: rawRequest.map((raw): Case => ({ method: 'GET', path: [], headers: [], body: null, framing: 'length', raw })) });
}

// macd's admin API (src/macd/admin.ts): listing with filters, export, import.

/** A backup's entry: a mac_state with its address (backup.ts MacEntry). */
const macEntry: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 12,
    arbitrary: fields(
      { mac_address: macField, project_id: idValue, vpc_id: idValue, port_id: idValue, state: sometimesWrong(fc.constantFrom('Active', 'Inactive')) },
      ['mac_address', 'port_id', 'state'],
    ),
  },
  { weight: 1, arbitrary: macState },
);
const macPoolHeader = fc.record({
  kind: sometimesWrong(fc.constant('MacPoolBackup'), fc.constantFrom<unknown>('DhcpSubnetBackup', '', 3)),
  version: sometimesWrong(fc.constant(1), fc.constantFrom<unknown>(2, 0, '1')),
  pool: sometimesWrong(fc.constant({ namespace: 'ns', name: 'pool', uid: 'u1' })),
  ranges: sometimesWrong(fc.constant([{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }])),
  created: fc.constant(new Date(0).toISOString()),
});
/** A MacPool backup (src/api/backup.ts): a header whose count may or may not match, then mac_states. */
const macBackupBody: fc.Arbitrary<Case['body']> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({ header: macPoolHeader, entries: fc.array(macEntry, { maxLength: 12 }), countOff: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }) })
      .map((b) => ({ lines: [{ ...b.header, count: b.entries.length + b.countOff }, ...b.entries] })),
  },
  { weight: 1, arbitrary: junkBody.map((bytes) => ({ bytes })) },
);
const adminListQuery = fc
  .record(
    {
      limit: sometimesWrong(fc.constantFrom('1', '7', '500', '5000'), fc.constantFrom('0', '5001', '-1', 'x')),
      continue: fc.oneof(fc.constant('bogus'), fc.base64String({ maxLength: 40 })),
      project_id: fc.string({ maxLength: 40 }),
      vpc_id: fc.string({ maxLength: 40 }),
      port_id: fc.oneof(fc.constant('bulk-1'), fc.string({ maxLength: 40 })),
      local: fc.constantFrom('true', 'false'),
    },
    { requiredKeys: [] },
  )
  .map((q) => new URLSearchParams(q as Record<string, string>).toString());
const adminImportQuery = fc
  .record({ mode: sometimesWrong(fc.constantFrom('import', 'import', 'import', 'restore'), fc.constantFrom('merge', '')), checkOnly: fc.constantFrom('true', 'false') }, { requiredKeys: [] })
  .map((q) => new URLSearchParams(q as Record<string, string>).toString());
const withQuery = (ep: fc.Arbitrary<Endpoint>, q: fc.Arbitrary<string>): fc.Arbitrary<Endpoint & { query?: string }> =>
  fc.tuple(ep, rarely(q, 2)).map(([e, query]) => (query === null ? e : { ...e, query }));

/** Every endpoint of Alcor's MAC manager API (src/macd/routes.ts), its probes on the same port, and anything else. */
export const macdCases: fc.Arbitrary<Case> = finish(
  fc.oneof(
    { weight: 8, arbitrary: endpoint(fc.constant('POST'), fc.constant(['macs']), body.state) },
    { weight: 4, arbitrary: endpoint(fc.constant('POST'), fc.constant(['macs', 'bulk']), body.bulk) },
    { weight: 3, arbitrary: endpoint(fc.constant('POST'), rangeSeg.map((r) => ['macs', 'range', r]), body.state) },
    { weight: 2, arbitrary: endpoint(fc.constant('POST'), rangeSeg.map((r) => ['macs', 'range', r, 'bulk']), body.bulk) },
    { weight: 6, arbitrary: endpoint(fc.constantFrom('GET', 'DELETE'), macSeg.map((m) => ['macs', m]), none) },
    { weight: 4, arbitrary: endpoint(fc.constant('PUT'), macSeg.map((m) => ['macs', m]), body.state) },
    { weight: 2, arbitrary: endpoint(fc.constant('GET'), fc.constant(['macs', 'ranges']), none) },
    { weight: 2, arbitrary: endpoint(fc.constant('POST'), fc.constant(['macs', 'ranges']), body.range) },
    { weight: 2, arbitrary: endpoint(fc.constantFrom('GET', 'DELETE'), rangeSeg.map((r) => ['macs', 'ranges', r]), none) },
    { weight: 2, arbitrary: endpoint(fc.constant('PUT'), rangeSeg.map((r) => ['macs', 'ranges', r]), body.range) },
    { weight: 2, arbitrary: withQuery(endpoint(fc.constant('GET'), fc.constant(['v1', 'macs']), none), adminListQuery) },
    { weight: 1, arbitrary: endpoint(fc.constant('GET'), fc.constant(['v1', 'export']), none) },
    { weight: 3, arbitrary: withQuery(endpoint(fc.constant('POST'), fc.constant(['v1', 'import']), macBackupBody), adminImportQuery) },
    { weight: 2, arbitrary: endpoint(methods, probePath, body.any) },
    { weight: 3, arbitrary: endpoint(methods, anyPath, body.any) },
  ),
  { v4: true },
);

// ---- dhcpd: the lease API (src/dhcpd/api/routes.ts) ----

const ipText = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 255 }).map((n) => `10.70.0.${n}`) },
  { weight: 1, arbitrary: fc.ipV4() },
  { weight: 1, arbitrary: fc.constantFrom('10.70.0.256', '10.70.0', '10.70.0.1.1', '::1', '010.070.000.011', '10.70.0.-1', '') },
);
const ipField = fc.oneof({ weight: 3, arbitrary: ref('knownIp') }, { weight: 8, arbitrary: ipText }, { weight: 1, arbitrary: wrong });
/** Expiry: far enough ahead that nothing expires during a run, past, or malformed. */
const expires = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 2, max: 60 }).map((d) => ({ ref: 'inDays', n: d })) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('2020-01-01T00:00:00.000Z', 'tomorrow', '', 0, null, '9999-99-99T00:00:00Z') },
);
const leaseEntry: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .record({ ip: ipField, n: fc.integer({ min: 0, max: 0xffff }), hostname: rarely(fc.oneof({ weight: 5, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,20}$/) }, { weight: 1, arbitrary: fc.string({ maxLength: 70, unit: 'binary' }) }), 2), expires, state: sometimesWrong(fc.constant('bound')) })
      .chain((e) => {
        const mac = `52:54:00:00:${(e.n >> 8).toString(16).padStart(2, '0')}:${(e.n & 0xff).toString(16).padStart(2, '0')}`;
        const entry = { ip: e.ip, mac, client: `hw:1:${mac.replaceAll(':', '')}`, ...(e.hostname !== null ? { hostname: e.hostname } : {}), expires: e.expires, state: e.state };
        return fc.oneof({ weight: 12, arbitrary: fc.constant(entry as Record<string, unknown>) }, { weight: 1, arbitrary: fields({ ip: ipField, mac: fc.oneof(macText, wrong), client: fc.oneof(fc.string({ maxLength: 30 }), wrong), expires, state: fc.constant('bound') }) });
      }),
  },
  { weight: 1, arbitrary: wrong },
);
const backupHeader = fc.record({
  kind: sometimesWrong(fc.constant('DhcpSubnetBackup'), fc.constantFrom<unknown>('MacPoolBackup', '', 3)),
  version: sometimesWrong(fc.constant(1), fc.constantFrom<unknown>(2, 0, '1')),
  subnet: sometimesWrong(fc.constant({ namespace: 'ns', name: 'net', uid: 'u1', cidr: '10.70.0.0/24' })),
  ranges: sometimesWrong(fc.constant([{ start: '10.70.0.10', end: '10.70.0.200' }])),
  created: fc.constant(new Date(0).toISOString()),
});
/** Backup lines (src/api/backup.ts): a header whose count may or may not match, then entries. */
const backupBody: fc.Arbitrary<Case['body']> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ header: backupHeader, entries: fc.array(leaseEntry, { maxLength: 12 }), countOff: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }) }).map((b) => ({
      lines: [{ ...b.header, count: b.entries.length + b.countOff }, ...b.entries],
    })),
  },
  { weight: 2, arbitrary: junkBody.map((bytes) => ({ bytes })) },
);
const dhcpQuery = fc.oneof(
  fc.record({ mode: sometimesWrong(fc.constantFrom('import', 'import', 'restore'), fc.constantFrom('merge', '')), dryRun: sometimesWrong(fc.constantFrom('true', 'false'), fc.constant('yes')), subnet: sometimesWrong(fc.constant('net'), fc.constant('other')) }, { requiredKeys: [] }).map((q) => new URLSearchParams(q as Record<string, string>).toString()),
  fc.record({ limit: fc.constantFrom('1', '5', '5000', '5001', '0', '-1', 'x'), continue: fc.oneof(fc.constant('bogus'), fc.base64String({ maxLength: 40 })), local: fc.constantFrom('true', 'false'), server: fc.constantFrom('net-dhcpd-0', 'nope') }, { requiredKeys: [] }).map((q) => new URLSearchParams(q).toString()),
);

const leaseSeg = segment('knownIp', ipText);

export const dhcpdCases: fc.Arbitrary<Case> = finish(
  fc.oneof(
    { weight: 2, arbitrary: endpoint(fc.constant('GET'), fc.constant(['v1', 'server']), none) },
    { weight: 4, arbitrary: endpoint(fc.constant('GET'), fc.constant(['v1', 'leases']), none) },
    { weight: 6, arbitrary: endpoint(fc.constantFrom('GET', 'DELETE'), leaseSeg.map((ip) => ['v1', 'leases', ip]), none) },
    { weight: 2, arbitrary: endpoint(fc.constant('GET'), fc.constant(['v1', 'export']), none) },
    { weight: 8, arbitrary: endpoint(fc.constant('POST'), fc.constant(['v1', 'import']), backupBody) },
    { weight: 2, arbitrary: endpoint(methods, probePath, body.any) },
    { weight: 3, arbitrary: endpoint(methods, anyPath, body.any) },
  ),
  { v4: false },
).chain((c) => (c.query === undefined && c.path[0] === 'v1' ? rarely(dhcpQuery, 2).map((q) => (q === null ? c : { ...c, query: q })) : fc.constant(c)));

/** Probe and metrics ports: the probe paths and anything else, any method and body. */
export const probeCases: fc.Arbitrary<Case> = finish(
  fc.oneof({ weight: 3, arbitrary: endpoint(fc.oneof({ weight: 3, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: methods }), probePath, body.any) }, { weight: 1, arbitrary: endpoint(methods, anyPath, body.any) }),
  { v4: false },
);
