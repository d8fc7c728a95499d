// `npm run test:alcor`: one sequence of requests (test/alcor/mac-sequence.ts)
// against Alcor's real MAC manager (prebuilt jars, Ignite 2.10, the
// properties the operator renders) and against macd; every difference in
// status, body shape or a caller's checks must be a row of
// docs/alcor-compat.md. Alcor's answers are also kept in alcor-answers.json,
// so test/macd/alcor-compat.test.ts holds macd to them where Alcor cannot run;
// this test fails when the recording is stale (ALCOR_RECORD=1 rewrites it).
// Skips with one line when the jars or a JDK are missing.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMacd } from '../macd/helpers.ts';
import { judge, readCompatTable, RECORDED, readRecorded, type Recorded } from './compat.ts';
import { missingReason, startAlcorStack, type AlcorStack } from './harness.ts';
import { ALCOR_COMMIT } from './jars.ts';
import { macManagerProperties } from './mac-manager.ts';
import { runSequence, steps, type Observed } from './mac-sequence.ts';

const skip = missingReason();
if (skip) console.log(`[test:alcor] differential suite skipped: ${skip}`);

const strip = ({ body: _b, ...rest }: Observed): Omit<Observed, 'body'> => rest;

describe.skipIf(skip !== undefined)("macd answers Alcor's callers as Alcor's MAC manager does", () => {
  let stack: AlcorStack;
  let alcor: Map<string, Observed>;
  let macd: Map<string, Observed>;

  beforeAll(async () => {
    const m = await startTestMacd();
    try {
      macd = await runSequence(m.url);
    } finally {
      await m.close();
    }
    stack = await startAlcorStack();
    const service = await stack.boot('macmanager', macManagerProperties());
    alcor = await runSequence(service.url);
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('differs only as docs/alcor-compat.md says', () => {
    const answers = new Map(steps.map((s) => [s.id, { alcor: strip(alcor.get(s.id)!), macd: strip(macd.get(s.id)!) }]));
    const problems = judge(answers, readCompatTable());
    const show = (id: string) => `  ${id}\n    Alcor ${alcor.get(id)!.status} ${alcor.get(id)!.body.slice(0, 200)}\n    macd  ${macd.get(id)!.status} ${macd.get(id)!.body.slice(0, 200)}`;
    expect(problems, `${problems.join('\n')}\n\n${[...new Set(problems.map((p) => p.split(':')[0]!))].filter((id) => alcor.has(id)).map(show).join('\n')}`).toEqual([]);
  });

  it('matches the recorded answers test/macd/alcor-compat.test.ts uses', () => {
    const live: Recorded = { alcorCommit: ALCOR_COMMIT, answers: Object.fromEntries(steps.map((s) => [s.id, strip(alcor.get(s.id)!)])) };
    if (process.env['ALCOR_RECORD']) writeFileSync(RECORDED, `${JSON.stringify(live, null, 1)}\n`);
    expect(readRecorded(), 'Alcor answers otherwise than test/alcor/alcor-answers.json records: run `ALCOR_RECORD=1 npm run test:alcor` and review the diff').toEqual(live);
  });
});
