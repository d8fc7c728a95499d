// zod's JSON Schema → a Kubernetes structural schema: every node has a type,
// no $schema/$ref/const, anyOf only in the int-or-string form Kubernetes
// knows, additionalProperties only for maps, and x-kubernetes-* kept.

export type JsonSchema = { [key: string]: unknown };

const dropped = new Set(['$schema', '$id', 'id', 'propertyNames']);

export function toStructural(node: JsonSchema, path = ''): JsonSchema {
  if (node['x-kubernetes-int-or-string'] === true) {
    const out: JsonSchema = {};
    for (const key of ['description', 'default', 'pattern']) if (key in node) out[key] = node[key];
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    out['x-kubernetes-int-or-string'] = true;
    return out;
  }
  if ('anyOf' in node || 'oneOf' in node || 'allOf' in node || '$ref' in node || 'not' in node) {
    throw new Error(`${path || '(root)'}: not structural (anyOf/oneOf/allOf/$ref/not): ${JSON.stringify(node).slice(0, 200)}`);
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (dropped.has(key)) continue;
    if (key === 'const') {
      out.enum = [value];
    } else if (key === 'additionalProperties') {
      if (value !== false && typeof value === 'object' && value !== null) {
        out.additionalProperties = toStructural(value as JsonSchema, `${path}[*]`);
      }
    } else if (key === 'properties') {
      const props: JsonSchema = {};
      for (const [name, child] of Object.entries(value as Record<string, JsonSchema>)) {
        props[name] = toStructural(child, `${path}.${name}`);
      }
      out.properties = props;
    } else if (key === 'items') {
      out.items = toStructural(value as JsonSchema, `${path}[]`);
    } else if ((key === 'minimum' || key === 'maximum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) {
      // zod's implicit bounds of .int(): noise in kubectl explain.
      continue;
    } else {
      out[key] = value;
    }
  }
  if (out.type === undefined) {
    if (out.enum !== undefined) out.type = typeof (out.enum as unknown[])[0] === 'number' ? 'integer' : 'string';
    else throw new Error(`${path || '(root)'}: no type: ${JSON.stringify(node).slice(0, 200)}`);
  }
  if (out.type === 'object' && out.properties === undefined && out.additionalProperties === undefined) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  // The API server validates a default (CEL included) without applying the
  // defaults nested in it, so `default: {}` must be spelled out in full.
  if (isObject(out.default) && isObject(out.properties)) out.default = withNestedDefaults(out, out.default);
  return ordered(out);
}

function isObject(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function withNestedDefaults(schema: JsonSchema, value: JsonSchema): JsonSchema {
  const result: JsonSchema = { ...value };
  for (const [name, child] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
    if (result[name] === undefined && child.default !== undefined) result[name] = child.default;
    else if (isObject(result[name]) && isObject(child.properties)) result[name] = withNestedDefaults(child, result[name]);
  }
  return result;
}

/** description and type first: the generated YAML reads like a hand-written CRD. */
function ordered(node: JsonSchema): JsonSchema {
  const first = ['description', 'type', 'format', 'enum', 'default'];
  const out: JsonSchema = {};
  for (const key of first) if (key in node) out[key] = node[key];
  for (const [key, value] of Object.entries(node)) if (!(key in out)) out[key] = value;
  return out;
}
