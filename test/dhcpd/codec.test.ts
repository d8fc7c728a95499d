import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { classlessRoutes, decodeDomainSearch, domainSearch } from '../../src/dhcpd/codec/encode.ts';
import { parseErrors, parseRequest, serializeRequest } from '../../src/dhcpd/codec/packet.ts';

const mac = Uint8Array.of(0x02, 0, 0, 0, 0, 1);

function discover(extra: Array<readonly [number, Uint8Array]> = []): Buffer {
  return serializeRequest({ messageType: MessageType.DISCOVER, xid: 0x1234, chaddr: mac, options: extra });
}

describe('parseRequest', () => {
  it('parses a DISCOVER with its options', () => {
    const b = discover([
      [Opt.CLIENT_ID, Uint8Array.of(1, ...mac)],
      [Opt.PARAMETER_LIST, Uint8Array.of(1, 3, 6)],
      [Opt.RELAY_AGENT, Uint8Array.of(1, 2, 0x61, 0x62)],
    ]);
    const r = parseRequest(b);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.messageType).toBe(MessageType.DISCOVER);
    expect(r.packet.xid).toBe(0x1234);
    expect(Buffer.from(r.packet.chaddr.subarray(0, r.packet.hlen)).toString('hex')).toBe('020000000001');
    expect([...(r.packet.options.get(Opt.PARAMETER_LIST) ?? [])]).toEqual([1, 3, 6]);
    expect([...(r.packet.options.get(Opt.RELAY_AGENT) ?? [])]).toEqual([1, 2, 0x61, 0x62]);
  });

  it('reads options from file and sname when option 52 says so', () => {
    const b = discover([[Opt.OVERLOAD, Uint8Array.of(3)]]);
    // Remove the message type from the main area and put it in file; hostname in sname.
    b[240] = Opt.PAD;
    b[241] = Opt.PAD;
    b[242] = Opt.PAD;
    b.set([Opt.MESSAGE_TYPE, 1, MessageType.REQUEST, Opt.END], 108);
    b.set([Opt.HOSTNAME, 2, 0x68, 0x69, Opt.END], 44);
    const r = parseRequest(b);
    expect(r.ok && r.messageType).toBe(MessageType.REQUEST);
    expect(r.ok && Buffer.from(r.packet.options.get(Opt.HOSTNAME) ?? []).toString()).toBe('hi');
  });

  it('concatenates a split option (RFC 3396)', () => {
    const r = parseRequest(discover([[Opt.HOSTNAME, Uint8Array.of(0x61)], [Opt.HOSTNAME, Uint8Array.of(0x62)]]));
    expect(r.ok && Buffer.from(r.packet.options.get(Opt.HOSTNAME) ?? []).toString()).toBe('ab');
  });

  const cases: Array<[string, (b: Buffer) => Buffer, string]> = [
    ['wrong magic cookie', (b) => (b.writeUInt32BE(0xdeadbeef, 236), b), 'bad-cookie'],
    ['truncated header', (b) => b.subarray(0, 100), 'too-short'],
    ['option length past the end', (b) => Buffer.concat([b.subarray(0, 243), Buffer.from([12, 200, 1, 2])]), 'option-truncated'],
    ['a lone option code at the end', (b) => Buffer.concat([b.subarray(0, 243), Buffer.from([12])]), 'option-truncated'],
    ['BOOTREPLY sent to the server', (b) => ((b[0] = 2), b), 'not-bootrequest'],
    ['hlen > 16', (b) => ((b[2] = 17), b), 'bad-hlen'],
    ['unknown message type', (b) => ((b[242] = 42), b), 'unknown-message-type'],
    ['no message type', (b) => ((b[240] = Opt.PAD), (b[241] = Opt.PAD), (b[242] = Opt.PAD), b), 'no-message-type'],
    ['huge packet', (b) => Buffer.concat([b, Buffer.alloc(4000)]), 'too-large'],
    ['bad overload value', (b) => Buffer.concat([b.subarray(0, 243), Buffer.from([52, 1, 9, 255])]), 'bad-overload'],
    ['requested address of length 3', (b) => Buffer.concat([b.subarray(0, 243), Buffer.from([50, 3, 1, 2, 3, 255])]), 'bad-option-length'],
  ];
  for (const [name, mutate, reason] of cases) {
    it(`drops ${name} with reason ${reason}`, () => {
      const r = parseRequest(mutate(discover()));
      expect(r).toEqual({ ok: false, reason });
    });
  }

  it('never throws on random bytes and always gives a known reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1600 }), (bytes) => {
        const r = parseRequest(bytes);
        if (!r.ok) expect(parseErrors).toContain(r.reason);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutated valid packets', () => {
    const base = discover([
      [Opt.CLIENT_ID, Uint8Array.of(1, ...mac)],
      [Opt.REQUESTED_IP, Uint8Array.of(10, 0, 0, 5)],
      [Opt.OVERLOAD, Uint8Array.of(1)],
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 }),
        fc.nat(base.length),
        (edits, cut) => {
          const b = Buffer.from(base);
          for (const [i, v] of edits) b[i] = v;
          const r = parseRequest(b.subarray(0, Math.max(cut, 200)));
          if (r.ok) {
            expect(r.messageType).toBeGreaterThanOrEqual(1);
            expect(r.messageType).toBeLessThanOrEqual(8);
          } else {
            expect(parseErrors).toContain(r.reason);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('option encoders', () => {
  it('encodes domain search names (RFC 1035) and decodes them back', () => {
    const b = domainSearch(['eng.example.com', 'example.com.']);
    expect([...b.subarray(0, 5)]).toEqual([3, 0x65, 0x6e, 0x67, 7]);
    expect(decodeDomainSearch(b)).toEqual(['eng.example.com', 'example.com']);
  });

  it('decodes compression pointers', () => {
    const b = Uint8Array.of(3, 0x61, 0x62, 0x63, 3, 0x63, 0x6f, 0x6d, 0, 1, 0x78, 0xc0, 4);
    expect(decodeDomainSearch(b)).toEqual(['abc.com', 'x.com']);
  });

  it('encodes classless static routes (RFC 3442 examples)', () => {
    expect([...classlessRoutes([{ destination: '10.17.0.0/16', gateway: '10.0.0.1' }])]).toEqual([16, 10, 17, 10, 0, 0, 1]);
    expect([...classlessRoutes([{ destination: '0.0.0.0/0', gateway: '10.0.0.1' }])]).toEqual([0, 10, 0, 0, 1]);
    expect([...classlessRoutes([{ destination: '10.229.0.128/25', gateway: '10.0.0.1' }])]).toEqual([25, 10, 229, 0, 128, 10, 0, 0, 1]);
  });
});
