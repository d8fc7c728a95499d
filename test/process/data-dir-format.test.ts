// The data directory's format marker (src/process/data-dir-format.ts): which
// markers this release reads, and the marker it writes (atomically, once).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_DIR_MARKER, DataDirMarker } from '../../src/api/formats.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';
import { dataDirRefusal, markerRefusal, markerText, writeDataDirMarker } from '../../src/process/data-dir-format.ts';
import { tempDir } from '../macd/helpers.ts';

describe('data directory format marker', () => {
  it.each([
    ['this release’s', markerText('macd')],
    ['an older release’s of format 1', '{"kind":"macd","format":1,"writtenBy":"0.3.0-rc.1"}'],
    ['format 1 with a field it does not know', '{"kind":"macd","format":1,"writtenBy":"0.3.0","note":"x"}'],
  ])('reads %s marker', (_name, text) => {
    expect(markerRefusal('macd', text)).toBeUndefined();
  });

  it.each([
    ['a newer format', '{"kind":"macd","format":2,"writtenBy":"0.4.0"}', /^macd data directory format 2 is newer than this release \(0\.3\.0\) reads \(up to 1\); the directory is left untouched$/],
    ['a newer format of another shape', '{"format":99}', /format 99 is newer than this release/],
    ['not JSON', '{"kind":"macd",', /^not JSON \(.*\); the directory is left untouched$/],
    ['no format', '{"kind":"macd","writtenBy":"0.3.0"}', /not a format marker \(format: /],
    ['a format that is no version', '{"kind":"macd","format":"one","writtenBy":"0.3.0"}', /format "one" is not a format version/],
    ['an array', '[1]', /not a format marker \(marker: /],
    ['another server’s directory', '{"kind":"dhcpd","format":1,"writtenBy":"0.3.0"}', /^the data directory of dhcpd, not of macd; /],
  ])('refuses %s, saying why', (_name, text, why) => {
    expect(markerRefusal('macd', text)).toMatch(why);
  });

  it('reads a directory without a marker (0.2.0 wrote none) or without anything yet', () => {
    const dir = tempDir('format-');
    expect(dataDirRefusal(dir, 'dhcpd')).toBeUndefined();
    expect(dataDirRefusal(join(dir, 'missing'), 'dhcpd')).toBeUndefined();
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('writes its marker whole, leaving no temporary file, and rewrites it only when it differs', async () => {
    const dir = tempDir('format-');
    await writeDataDirMarker(dir, 'dhcpd');
    expect(readdirSync(dir)).toEqual([DATA_DIR_MARKER]);
    const path = join(dir, DATA_DIR_MARKER);
    expect(DataDirMarker.parse(JSON.parse(readFileSync(path, 'utf8')))).toEqual({ kind: 'dhcpd', format: 1, writtenBy: RELEASE_VERSION });
    expect(dataDirRefusal(dir, 'dhcpd')).toBeUndefined();
    const inode = statSync(path).ino;
    await writeDataDirMarker(dir, 'dhcpd');
    expect(statSync(path).ino).toBe(inode);
    // An older release's marker of the same format: this release's name replaces it (a new file, renamed over it).
    writeFileSync(path, '{"kind":"dhcpd","format":1,"writtenBy":"0.3.0-rc.1"}\n');
    await writeDataDirMarker(dir, 'dhcpd');
    expect(readFileSync(path, 'utf8')).toBe(markerText('dhcpd'));
    expect(readdirSync(dir)).toEqual([DATA_DIR_MARKER]);
  });

  it('names the marker in what it says, also when the marker cannot be read at all', () => {
    const dir = tempDir('format-');
    mkdirSync(join(dir, DATA_DIR_MARKER));
    expect(dataDirRefusal(dir, 'macd')).toBe(`${join(dir, DATA_DIR_MARKER)}: unreadable (EISDIR: illegal operation on a directory, read); the directory is left untouched`);
    const newer = tempDir('format-');
    writeFileSync(join(newer, DATA_DIR_MARKER), '{"kind":"macd","format":2,"writtenBy":"0.4.0"}');
    expect(dataDirRefusal(newer, 'macd')).toBe(`${join(newer, DATA_DIR_MARKER)}: macd data directory format 2 is newer than this release (${RELEASE_VERSION}) reads (up to 1); the directory is left untouched`);
  });
});
