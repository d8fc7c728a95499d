// macd against Alcor's real MAC manager's answers, as test/alcor/differential.test.ts
// recorded them (test/alcor/alcor-answers.json): the same sequence of
// requests, and every difference must be a row of docs/alcor-compat.md. Runs
// everywhere, without Alcor's jars; `npm run test:alcor` checks the recording
// against the real service where they are present.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judge, readCompatTable, readRecorded } from '../alcor/compat.ts';
import { runSequence, steps, type Observed } from '../alcor/mac-sequence.ts';
import { startTestMacd } from './helpers.ts';

let m: Awaited<ReturnType<typeof startTestMacd>>;
let macd: Map<string, Observed>;
beforeAll(async () => {
  m = await startTestMacd();
  macd = await runSequence(m.url);
});
afterAll(async () => {
  await m.close();
});

describe("Alcor's MAC manager compatibility (recorded answers)", () => {
  it('records an answer for every step of the sequence', () => {
    expect(Object.keys(readRecorded().answers).sort()).toEqual(steps.map((s) => s.id).sort());
  });

  it('differs from Alcor only as docs/alcor-compat.md says', () => {
    const recorded = readRecorded().answers;
    const answers = new Map(steps.map((s) => {
      const { body: _b, ...mine } = macd.get(s.id)!;
      return [s.id, { alcor: recorded[s.id]!, macd: mine }];
    }));
    const problems = judge(answers, readCompatTable());
    expect(problems, problems.map((p) => `${p}\n    macd: ${macd.get(p.split(':')[0]!)?.body.slice(0, 200) ?? ''}`).join('\n')).toEqual([]);
  });
});
