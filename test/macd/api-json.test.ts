import { describe, expect, it } from 'vitest';
import { macStateJson, parseMacState, parseRange, parseStates } from '../../src/macd/api-json.ts';
import { MacdError } from '../../src/macd/errors.ts';

// The wire format: what a body may hold (ids: length and characters; bulk:
// count) and answers that stay valid JSON whatever a stored id holds.

const limits = { maxBulk: 3, maxIdLength: 40 };
const uuid = '3dda2801-d675-4688-a63f-dcda8d327f50';

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof MacdError) return `${e.status} ${e.reason}: ${e.message}`;
    throw e;
  }
  return 'accepted';
}

describe('mac_state ids', () => {
  it('accepts what Alcor sends: UUIDs, Keystone ids, names', () => {
    for (const id of [uuid, '3dda2801d6754688a63fdcda8d327f50', 'port-1', 'vm1.eth0', 'tenant_a:net@1']) {
      expect(parseMacState({ project_id: id, vpc_id: id, port_id: id }, 'mac_state', limits).meta).toEqual({ projectId: id, vpcId: id, portId: id, state: 'Active' });
    }
  });

  it.each([
    ['project_id', 'x'.repeat(41), /^400 invalid_request: mac_state\.project_id is 41 characters long; the most is 40$/],
    ['vpc_id', 'x'.repeat(30_000_000), /^400 invalid_request: mac_state\.vpc_id is 30000000 characters long/],
    ['port_id', 'a b', /^400 invalid_request: mac_state\.port_id "a b" may hold only letters, digits/],
    ['port_id', 'p"q', /mac_state\.port_id/],
    ['project_id', 'ü', /mac_state\.project_id/],
    ['vpc_id', 'a\u0000', /mac_state\.vpc_id/],
    ['project_id', 7, /^400 invalid_request: mac_state\.project_id must be a string$/],
  ])('%s = %j is 400 naming the field', (field, value, want) => {
    expect(refusal(() => parseMacState({ project_id: 'p', vpc_id: 'v', port_id: 'p', [field]: value }, 'mac_state', limits))).toMatch(want);
  });

  it('an echoed value is clipped: an error never carries a huge input back', () => {
    const r = refusal(() => parseMacState({ project_id: 'p', vpc_id: 'v', port_id: 'p', mac_address: 'z'.repeat(1_000_000) }, 'mac_state', limits));
    expect(r).toMatch(/^400 malformed_mac/);
    expect(r.length).toBeLessThan(300);
  });

  it('range_id follows the same rules', () => {
    expect(refusal(() => parseRange({ mac_range: { range_id: 'r 1', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:00:ff' } }, limits))).toMatch(/mac_range\.range_id/);
    expect(refusal(() => parseRange({ mac_range: { range_id: 'r'.repeat(41), from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:00:ff' } }, limits))).toMatch(/mac_range\.range_id is 41/);
  });
});

describe('bulk', () => {
  it('more than maxBulk mac_states is 413 bulk_too_large before any entry is read', () => {
    // The fourth entry is invalid, yet the count is what refuses the request.
    expect(refusal(() => parseStates({ mac_states: [{ project_id: 'p', vpc_id: 'v', port_id: 'a' }, { project_id: 'p', vpc_id: 'v', port_id: 'b' }, { project_id: 'p', vpc_id: 'v', port_id: 'c' }, 'junk'] }, limits))).toBe(
      '413 bulk_too_large: mac_states holds 4 entries; the most in one request is 3',
    );
    expect(parseStates({ mac_states: [{ project_id: 'p', vpc_id: 'v', port_id: 'a' }, { project_id: 'p', vpc_id: 'v', port_id: 'b' }, { project_id: 'p', vpc_id: 'v', port_id: 'c' }] }, limits)).toHaveLength(3);
  });

  it('a bad entry names its index', () => {
    expect(refusal(() => parseStates({ mac_states: [{ project_id: 'p', vpc_id: 'v', port_id: 'a' }, { project_id: 'p', port_id: 'b', vpc_id: '?' }] }, limits))).toMatch(/mac_states\[1\]\.vpc_id/);
  });
});

describe('answers', () => {
  it('stay valid JSON whatever an id stored before these rules holds', () => {
    const meta = { projectId: 'p "quoted"', vpcId: 'line\nbreak\\', portId: 'ü-port-\u0001\u2028', state: 'Inactive' };
    expect(JSON.parse(macStateJson({ mac: 0xaabbcc000001, meta }))).toEqual({
      mac_address: 'aa:bb:cc:00:00:01',
      project_id: meta.projectId,
      vpc_id: meta.vpcId,
      port_id: meta.portId,
      state: 'Inactive',
    });
  });
});
