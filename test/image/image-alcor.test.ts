import { describe, expect, it } from 'vitest';
import { parseAptDepends } from '../../scripts/image-alcor.ts';

// The Java runtime layer of Alcor's images is openjdk-17-jre-headless and its
// dependency closure: how `apt-cache depends` output is read.

describe('parseAptDepends', () => {
  it('takes Depends and Pre-Depends, the first of alternatives, the first provider of a virtual package', () => {
    const out = [
      'openjdk-17-jre-headless',
      '  Depends: ca-certificates-java',
      '  Depends: libc6',
      ' |Depends: libjpeg62-turbo',
      '  Depends: libjpeg8',
      '  PreDepends: dpkg',
      '  Depends: <java-runtime-headless>',
      '    openjdk-17-jre-headless',
      '    default-jre-headless',
      '  Depends: <nothing-provides-this>',
      '  Depends: libgcc-s1:any',
      '  Recommends: fonts-dejavu-extra',
      'zlib1g',
      '  Depends: libc6',
      '',
    ].join('\n');
    expect(parseAptDepends(out)).toEqual(['ca-certificates-java', 'libc6', 'libjpeg62-turbo', 'dpkg', 'openjdk-17-jre-headless', 'libgcc-s1', 'libc6']);
  });
});
