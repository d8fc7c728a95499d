import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { macdLimitFlags } from '../../src/api/macd-limits.ts';
import { tempDir } from './helpers.ts';
import { MAIN, kill, spawnMacd } from './process.ts';

describe('alcor-operator macd CLI', () => {
  it('--help documents every flag', () => {
    const r = spawnSync(process.execPath, [MAIN, 'macd', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const flag of ['--listen', '--data-dir', '--config', '--metrics-listen', '--kubeconfig', '--replica', '--advertise-url', '--pod-uid', '--snapshot-mib', '--help', ...Object.values(macdLimitFlags).map((f) => `--${f}`)]) expect(r.stdout).toContain(flag);
  });

  it('refuses to start without --listen and --data-dir', () => {
    const r = spawnSync(process.execPath, [MAIN, 'macd', '--listen', '127.0.0.1:0'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--data-dir');
  });

  it('serves probes and metrics on --metrics-listen, and stops cleanly on SIGTERM', async () => {
    const p = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', tempDir(), '--metrics-listen', '127.0.0.1:0']);
    try {
      const line = p.lines.find((l) => l.includes('probes and metrics listening'))!;
      const port = (JSON.parse(line) as { port: number }).port;
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain('alcor_macd_range_capacity{range="range0"} 16777216');
      // JSON logs (pino) on stdout.
      expect(() => JSON.parse(p.lines[0]!)).not.toThrow();
    } finally {
      await kill(p, 'SIGTERM');
    }
    expect(p.child.exitCode).toBe(0);
    expect(p.lines.some((l) => l.includes('snapshot written'))).toBe(true);
  });
});
