import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConfigFile, type ConfigWatcher } from '../../src/process/config-watch.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function follow(path: string, current: string, pollMs = 60_000) {
  const changes: string[] = [];
  const errors: string[] = [];
  const w: ConfigWatcher = watchConfigFile({ path, current, onChange: (t) => changes.push(t), onError: (e) => errors.push(e.message), pollMs, debounceMs: 20 });
  cleanup.push(() => w.close());
  return { changes, errors };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'config-watch-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('watchConfigFile', () => {
  it('sees a ConfigMap volume update (the ..data symlink swapped), once, and not a rewrite of the same text', async () => {
    const dir = tempDir();
    const version = (name: string, text: string): void => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'config.yaml'), text);
    };
    version('..v1', 'a: 1\n');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/config.yaml', join(dir, 'config.yaml'));
    const { changes, errors } = follow(join(dir, 'config.yaml'), 'a: 1\n');
    // What the kubelet does: a new timestamped directory, then an atomic rename of the symlink.
    version('..v2', 'a: 2\n');
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await until('the change', () => changes.length > 0);
    writeFileSync(join(dir, '..v2', 'config.yaml'), 'a: 2\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(changes).toEqual(['a: 2\n']);
    expect(errors).toEqual([]);
  });

  it('keeps following by polling after its directory is removed and made again; the read error is reported once', async () => {
    const dir = join(tempDir(), 'etc');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.yaml'), 'a: 1\n');
    const { changes, errors } = follow(join(dir, 'config.yaml'), 'a: 1\n', 50);
    rmSync(dir, { recursive: true });
    await until('the read error', () => errors.length > 0);
    await new Promise((r) => setTimeout(r, 300)); // several polls
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/ENOENT/);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.yaml'), 'a: 3\n');
    await until('the change', () => changes.length > 0);
    expect(changes).toEqual(['a: 3\n']);
  });
});
