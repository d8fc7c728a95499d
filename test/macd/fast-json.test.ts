import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { macStateJson, parseMacState, parseStates } from '../../src/macd/api-json.ts';
import { MacdError } from '../../src/macd/errors.ts';
import { readMacState, readMacStates, statesAnswer } from '../../src/macd/fast-json.ts';
import { MacStates } from '../../src/macd/states.ts';
import type { MacStateInput, MacStateOut } from '../../src/macd/store.ts';

// The allocation requests' fast path against the general one (JSON.parse and
// api-json.ts): whatever body the fast path takes, it reads exactly what the
// general path reads, and answers byte for byte what it would answer; any
// other body it leaves to the general path (null), never throwing.

const limits = { maxBulk: 4, maxIdLength: 12 };

/** What the general path makes of a body: its inputs, or the error it answers. */
function general(body: string, bulk: boolean): MacStateInput[] | string {
  try {
    const v: unknown = JSON.parse(body);
    if (bulk) return parseStates(v, limits);
    if (typeof v !== 'object' || v === null || !('mac_state' in v)) return 'no mac_state';
    return [parseMacState((v as { mac_state: unknown }).mac_state, 'mac_state', limits)];
  } catch (e) {
    if (e instanceof MacdError || e instanceof SyntaxError) return e.message;
    throw e;
  }
}

const asInputs = (s: MacStates): MacStateInput[] => Array.from({ length: s.length }, (_, i) => ({ mac: s.mac(i) < 0 ? null : s.mac(i), meta: s.meta(i) }));

// Values near the edges of what the fast path takes.
const id = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('p', 'port-1', 'vm1.eth0', 'a_b:c@d', 'x'.repeat(12), '3dda2801-d675') },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(13), '', ' ', 'a b', 'p"q', 'a\\u0041', 'ü', '\u2028', '{', '}', '[x]') },
  { weight: 1, arbitrary: fc.string({ maxLength: 14 }) },
);
const value = fc.oneof(
  { weight: 5, arbitrary: id.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.constantFrom('null', '7', 'true', '{}', '[]', '"\\u0070"') },
);
const mac = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('"aa:bb:cc:00:00:01"', '"AA-BB-CC-00-00-02"', '"aa:bb-cc:00:00:03"', 'null') },
  { weight: 1, arbitrary: fc.constantFrom('"aa:bb:cc:00:00:0g"', '"aa:bb:cc:00:00"', '"aa.bb.cc.00.00.01"', '""') },
  { weight: 1, arbitrary: fc.string({ maxLength: 18 }).map((v) => JSON.stringify(v)) },
);
const state = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('"Active"', '"Inactive"', 'null') },
  { weight: 1, arbitrary: fc.constantFrom('" Active"', '"active"', '""', '"Deleted"') },
);
const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');

/** A mac_state object as text: some of its keys (maybe one twice, maybe an unknown one), in any order, spaced any way. */
const stateText = fc
  .record({
    entries: fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.tuple(fc.constant('mac_address'), mac) },
        { weight: 3, arbitrary: fc.tuple(fc.constant('state'), state) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('project_id', 'vpc_id', 'port_id'), value) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('other', 'Port_id', 'port_id '), value) },
      ),
      { maxLength: 2 },
    ),
    full: fc.tuple(value, value, value),
    sp: space,
  })
  .map(({ entries, full, sp }) => {
    // Most states carry the three required ids, so that many bodies are valid.
    const all: [string, string][] = [['project_id', full[0]], ['vpc_id', full[1]], ['port_id', full[2]], ...entries];
    return `{${sp}${all.map(([k, v]) => `"${k}"${sp}:${sp}${v}`).join(`,${sp}`)}${sp}}`;
  });

/** Bodies checked, and of them those the fast path took (the property must not hold by refusing everything). */
const taken = { fast: 0, all: 0 };
function checkAgainstGeneral(body: string, bulk: boolean): void {
  const fast = (bulk ? readMacStates : readMacState)(Buffer.from(body), limits);
  const want = general(body, bulk);
  taken.all++;
  if (fast === null) return;
  taken.fast++;
  // What the fast path takes, the general path takes too, reading the same.
  expect(want).toEqual(asInputs(fast));
  const inputs = want as MacStateInput[];
  // The answer, once MACs are given, is the general path's byte for byte.
  inputs.forEach((input, i) => fast.setMac(i, input.mac ?? 0xaabbcc000100 + i));
  const outs = inputs.map((input, i) => macStateJson({ mac: input.mac ?? 0xaabbcc000100 + i, meta: input.meta }));
  expect(statesAnswer(fast, !bulk).toString()).toBe(bulk ? `{"mac_states":[${outs.join(',')}]}` : `{"mac_state":${outs[0]}}`);
}

describe('fast-json (the allocation requests fast path)', () => {
  it('takes the bodies Alcor sends, with and without a MAC, either case', () => {
    const one = readMacState(Buffer.from('{"mac_state":{"project_id":"project-1","vpc_id":"vpc-1","port_id":"port-7","mac_address":"AA-BB-CC-00-00-0F","state":"Inactive"}}'), limits);
    expect(one && asInputs(one)).toEqual([{ mac: 0xaabbcc00000f, meta: { projectId: 'project-1', vpcId: 'vpc-1', portId: 'port-7', state: 'Inactive' } }]);
    const many = readMacStates(Buffer.from('{"mac_states":[{"project_id":"p","vpc_id":"v","port_id":"a"}, {"project_id":"p","vpc_id":"v","port_id":"b","mac_address":null}]}'), limits);
    expect(many && asInputs(many).map((s) => [s.mac, s.meta.portId])).toEqual([[null, 'a'], [null, 'b']]);
    expect(readMacStates(Buffer.from('{"mac_states":[]}'), limits)?.length).toBe(0);
  });

  it('leaves to the general path what it does not read without doubt', () => {
    for (const body of [
      '{"mac_state":{"project_id":"p","vpc_id":"v"}}', // missing port_id: the general path's 400
      '{"mac_state":{"project_id":"p","vpc_id":"v","port_id":"a","port_id":"b"}}', // duplicate key
      '{"mac_state":{"project_id":"p","vpc_id":"v","port_id":"\\u0061"}}', // an escape
      '{"mac_state":{"project_id":"p","vpc_id":"v","port_id":"a"},"x":1}', // another key
      '{"mac_state":{"project_id":"p","vpc_id":"v","port_id":"a"}} x', // trailing bytes
      '{"mac_state":{"project_id":"p","vpc_id":"v","port_id":"a"}', // truncated
    ]) {
      expect(readMacState(Buffer.from(body), limits), body).toBeNull();
    }
    const five = `{"mac_states":[${Array.from({ length: 5 }, (_, k) => `{"project_id":"p","vpc_id":"v","port_id":"${k}"}`).join(',')}]}`;
    // More than maxBulk: the general path answers 413.
    expect(readMacStates(Buffer.from(five), limits)).toBeNull();
  });

  it('reads what the general path reads, and answers what it answers (property)', () => {
    fc.assert(
      fc.property(stateText, space, (s, sp) => checkAgainstGeneral(`{${sp}"mac_state"${sp}:${s}${sp}}${sp}`, false)),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.array(stateText, { maxLength: 6 }), space, (list, sp) => checkAgainstGeneral(`{"mac_states":${sp}[${list.join(`,${sp}`)}]}`, true)),
      { numRuns: 2000 },
    );
    expect(taken.fast).toBeGreaterThan(taken.all / 20);
  });

  it('never throws on arbitrary bytes, and takes nothing JSON.parse refuses (property)', () => {
    const arbitrary = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('latin1')),
      stateText.chain((s) => fc.nat(s.length + 24).map((cut) => `{"mac_state":${s}}`.slice(0, cut))),
    );
    fc.assert(
      fc.property(arbitrary, (body) => {
        for (const read of [readMacState, readMacStates]) {
          const got = read(Buffer.from(body, 'latin1'), limits);
          if (got !== null) expect(() => JSON.parse(Buffer.from(body, 'latin1').toString('utf8'))).not.toThrow();
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('MacStates.from carries the general path inputs (nulls, empty ids) to the same answer', () => {
    const inputs: MacStateOut[] = [
      { mac: 0xaabbcc000001, meta: { portId: 'a', projectId: null, vpcId: null, state: 'Active' } },
      { mac: 0xaabbcc000002, meta: { portId: '', projectId: 'p', vpcId: 'v', state: 'Inactive' } },
    ];
    expect(statesAnswer(MacStates.from(inputs), false).toString()).toBe(`{"mac_states":[${inputs.map(macStateJson).join(',')}]}`);
    expect(() => MacStates.from([{ mac: null, meta: { portId: 'a"b', projectId: null, vpcId: null, state: 'Active' } }])).toThrow(/escapes/);
  });
});
