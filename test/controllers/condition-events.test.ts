import { describe, expect, it } from 'vitest';
import { conditionEvents } from '../../src/controllers/condition-events.ts';
import type { Condition } from '../../src/runtime/conditions.ts';

// The event policy on plain data: which status changes a user hears about.

const c = (type: string, status: Condition['status'], reason: string, message = ''): Condition => ({ type, status, reason, message, lastTransitionTime: '2026-01-01T00:00:00Z' });
const notReady = [c('Ready', 'False', 'ReplicasNotReady', 'StatefulSet a is not ready yet'), c('Progressing', 'True', 'RollingOut'), c('Degraded', 'False', 'AsExpected')];
const ready = [c('Ready', 'True', 'ReplicasReady', 'StatefulSet a: 2/2 ready'), c('Progressing', 'False', 'RolloutComplete'), c('Degraded', 'False', 'AsExpected')];
const degraded = (reason: string, message: string) => [c('Ready', 'False', reason, message), c('Progressing', 'False', reason, message), c('Degraded', 'True', reason, message)];

const table: [string, Condition[] | undefined, Condition[], string[]][] = [
  // name, conditions before, after, events as "type reason: message"
  ['a new resource, not ready yet: none', undefined, notReady, []],
  ['a new resource, Ready at once: none (its first status says it)', undefined, ready, []],
  ['a new resource, Degraded at once: one Warning for Degraded', undefined, degraded('InvalidSpec', 'spec.x: bad'), ['Warning InvalidSpec: spec.x: bad']],
  ['becoming Ready: Normal', notReady, ready, ['Normal ReplicasReady: StatefulSet a: 2/2 ready']],
  ['leaving Ready: Warning', ready, notReady, ['Warning ReplicasNotReady: StatefulSet a is not ready yet']],
  ['nothing changed: none', ready, ready, []],
  ['only the message changed: none', notReady, [c('Ready', 'False', 'ReplicasNotReady', 'StatefulSet b is not ready yet'), ...notReady.slice(1)], []],
  [
    'becoming Degraded: one Warning for leaving Ready, one for Degraded',
    ready,
    degraded('ApplyFailed', 'forbidden'),
    ['Warning ApplyFailed: forbidden', 'Warning ApplyFailed: forbidden'],
  ],
  ['Degraded for another reason: Warnings again', degraded('ApplyFailed', 'forbidden'), degraded('ConfigRejected', 'range too big'), ['Warning ConfigRejected: range too big', 'Warning ConfigRejected: range too big']],
  ['no longer Degraded, not Ready yet: only leaving Degraded is silent', degraded('ApplyFailed', 'forbidden'), notReady, ['Warning ReplicasNotReady: StatefulSet a is not ready yet']],
  ['Progressing alone flips: none', notReady, [notReady[0]!, c('Progressing', 'False', 'ProgressDeadlineExceeded'), notReady[2]!], []],
  ['an upgrade starts: Normal Upgrading', ready, [ready[0]!, c('Progressing', 'True', 'Upgrading', 'StatefulSet a: upgrading from x:1 to x:2'), ready[2]!], ['Normal Upgrading: StatefulSet a: upgrading from x:1 to x:2']],
  ['an upgrade goes on (its message changes): none', [ready[0]!, c('Progressing', 'True', 'Upgrading', 'done: a-2'), ready[2]!], [ready[0]!, c('Progressing', 'True', 'Upgrading', 'done: a-2, a-1'), ready[2]!], []],
  ['an upgrade ends: Normal Upgraded', [ready[0]!, c('Progressing', 'True', 'Upgrading', 'done: a-2'), ready[2]!], ready, ['Normal Upgraded: every replica runs the new pod template and serves']],
  ['a rollout that was no upgrade ends: none', notReady.map((x) => (x.type === 'Ready' ? ready[0]! : x)), ready, []],
  ['an empty message names the condition', notReady, [c('Ready', 'True', 'ReplicasReady')], ['Normal ReplicasReady: Ready is True']],
];

describe('conditionEvents', () => {
  for (const [name, before, after, events] of table) {
    it(name, () => {
      expect(conditionEvents(before, after).map((e) => `${e.type} ${e.reason}: ${e.message}`)).toEqual(events);
    });
  }
});
