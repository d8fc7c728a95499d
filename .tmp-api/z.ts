import { z } from 'zod';
const S = z.object({
  a: z.string().regex(/^x$/).describe('A thing').meta({ 'x-kubernetes-validations': [{ rule: 'self == "x"', message: 'm' }] }),
  b: z.number().int().min(1).default(2).describe('B'),
  c: z.enum(['p', 'q']).default('p'),
  d: z.literal('z').optional(),
  e: z.record(z.string(), z.string()).optional(),
  f: z.union([z.string(), z.number()]).optional(),
  g: z.array(z.object({ n: z.string() })).max(3).optional(),
  h: z.object({ x: z.number() }).default({ x: 1 }),
  i: z.ipv4(),
  j: z.number().int(),
}).superRefine(() => {}).meta({ 'x-kubernetes-validations': [{ rule: 'true' }] });
console.log(JSON.stringify(z.toJSONSchema(S, { io: 'input', target: 'openapi-3.0' }), null, 1));
