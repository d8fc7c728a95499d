import { z } from 'zod';
const S = z.object({
  a: z.string().describe('A thing').meta({ 'x-kubernetes-validations': [{ rule: 'r' }] }).refine((s) => s !== 'bad', { message: 'no bad' }),
  h: z.object({ x: z.number().default(1) }).prefault({}).describe('H'),
  k: z.object({ x: z.number().default(1) }).optional().describe('K'),
});
console.log(JSON.stringify(z.toJSONSchema(S, { io: 'input', target: 'openapi-3.0' })));
console.log(JSON.stringify(S.parse({ a: 'x' })));
const r = S.safeParse({ a: 'bad' }); console.log(JSON.stringify(r.error?.issues));
