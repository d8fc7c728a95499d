// The format versions (src/api/formats.ts): what this release reads, and the
// one refusal of a format it cannot read, as a table.
import { describe, expect, it } from 'vitest';
import { DATA_DIR_MARKER, DataDirMarker, FORMAT_ANNOTATION, FORMATS, PEER_FORMAT_HEADER, formatRefusal, type FormatName } from '../../src/api/formats.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';

const names = Object.keys(FORMATS) as FormatName[];

describe('format versions', () => {
  it('this release writes version 1 of every format, which it reads (and 0.2.0 reads: it is what 0.2.0 wrote)', () => {
    for (const name of names) expect(FORMATS[name]).toMatchObject({ writes: 1, reads: 1 });
  });

  it('names the annotation, the header and the marker', () => {
    expect([FORMAT_ANNOTATION, PEER_FORMAT_HEADER, DATA_DIR_MARKER]).toEqual(['alcor.dev/format', 'x-macd-format', 'format.json']);
  });

  it.each([
    ['absent (0.2.0 wrote none)', undefined],
    ['"1" (an annotation, a header)', '1'],
    ['1 (a marker)', 1],
  ])('reads %s', (_name, found) => {
    for (const name of names) expect(formatRefusal(name, found)).toBeUndefined();
  });

  it.each([
    ['"2"', '2', /^macd block Lease format 2 is newer than this release \(0\.3\.0\) reads \(up to 1\)/],
    ['99', 99, /format 99 is newer than this release/],
    ['"0"', '0', /format "0" is not a format version/],
    ['"01"', '01', /format "01" is not a format version/],
    ['"1.5"', '1.5', /not a format version/],
    ['""', '', /not a format version/],
    ['1.5', 1.5, /format 1\.5 is not a format version/],
    ['an array (a header sent twice)', ['1', '1'], /not a format version/],
    ['null', null, /format null is not a format version/],
  ])('refuses %s, naming the format and why', (_name, found, why) => {
    expect(formatRefusal('macdLeases', found)).toMatch(why);
  });

  it('says which release refuses', () => {
    expect(formatRefusal('dhcpdDataDir', 2)).toContain(`(${RELEASE_VERSION})`);
    expect(formatRefusal('dhcpdDataDir', 2)).toMatch(/^dhcpd data directory format 2/);
  });

  it('the marker schema keeps what it knows of a newer marker and refuses what is no marker', () => {
    expect(DataDirMarker.parse({ kind: 'macd', format: 2, writtenBy: '0.4.0', extra: true })).toEqual({ kind: 'macd', format: 2, writtenBy: '0.4.0' });
    expect(DataDirMarker.safeParse({ kind: 'other', format: 1, writtenBy: 'x' }).success).toBe(false);
    expect(DataDirMarker.safeParse({ kind: 'macd', format: '1', writtenBy: 'x' }).success).toBe(false);
  });
});
