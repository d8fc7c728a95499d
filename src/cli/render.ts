import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { InvalidResourceError, parseResource } from '../api/index.ts';
import { judgeReservations, reservationsOf } from '../controllers/reservations.ts';
import { defaultRenderSettings, renderResource, type KubeObject, type RenderSettings } from '../render/index.ts';
import type { AlcorResource } from '../api/index.ts';

// `alcor-operator render -f FILE`: what the operator would apply for the
// resources in FILE, without a cluster.

const help = `Usage: alcor-operator render -f FILE [flags]

Validates each MacPool, DhcpSubnet, DataPlaneManager and DhcpReservation in
FILE (multi-document YAML) against the API schema and prints every object the
operator would apply for them, as multi-document YAML. DhcpReservations are
merged into the ConfigMap of their DhcpSubnet in FILE, as the operator merges
them (overlapping ones left out). Nothing is sent to a cluster.

Flags:
  -f, --filename FILE          resources to render; "-" reads standard input (required)
      --image IMAGE            operator image, which runs macd and dhcpd (default ${defaultRenderSettings.image})
      --image-pull-policy P    Always, IfNotPresent or Never (default: left to Kubernetes)
  -n, --namespace NS           namespace for resources that name none (default "default")
  -h, --help                   show this help

Resources without metadata.uid (not read from a cluster) render without
ownerReferences. Exit status 1 on invalid input, naming the field.
`;

const pullPolicies = ['Always', 'IfNotPresent', 'Never'] as const;

function readInput(file: string): string {
  return readFileSync(file === '-' ? 0 : file, 'utf8');
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f' },
        image: { type: 'string' },
        'image-pull-policy': { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`alcor-operator render: ${err instanceof Error ? err.message : String(err)}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  if (!values.filename) {
    process.stderr.write(`alcor-operator render: -f FILE is required\n\n${help}`);
    return 2;
  }
  const policy = values['image-pull-policy'];
  if (policy !== undefined && !(pullPolicies as readonly string[]).includes(policy)) {
    process.stderr.write(`alcor-operator render: --image-pull-policy must be one of ${pullPolicies.join(', ')}\n`);
    return 2;
  }
  const settings: RenderSettings = {
    ...defaultRenderSettings,
    ...(values.image ? { image: values.image } : {}),
    ...(policy ? { imagePullPolicy: policy as RenderSettings['imagePullPolicy'] } : {}),
  };

  let text: string;
  try {
    text = readInput(values.filename);
  } catch (err) {
    process.stderr.write(`alcor-operator render: cannot read ${values.filename}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const parsed: AlcorResource[] = [];
  const docs = parseAllDocuments(text);
  const where = values.filename === '-' ? 'stdin' : values.filename;
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      process.stderr.write(`alcor-operator render: ${where}: document ${i + 1}: ${doc.errors[0]!.message}\n`);
      return 1;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // an empty document (a trailing ---)
    try {
      parsed.push(parseResource(withNamespace(value, values.namespace ?? 'default')));
    } catch (err) {
      if (!(err instanceof InvalidResourceError)) throw err;
      process.stderr.write(`alcor-operator render: ${where}: document ${i + 1}: ${err.message}\n`);
      return 1;
    }
  }
  const reservations = parsed.flatMap((p) => (p.kind === 'DhcpReservation' ? [p.resource as unknown as KubeObject] : []));
  const objects: KubeObject[] = [];
  for (const p of parsed) {
    const mine = p.kind === 'DhcpSubnet' ? judgeReservations(p.resource, reservationsOf(reservations, p.resource.metadata.namespace, p.resource.metadata.name)).accepted : [];
    objects.push(...renderResource(p, settings, mine));
  }
  if (objects.length === 0) {
    process.stderr.write(`alcor-operator render: ${where}: no resources\n`);
    return 1;
  }
  process.stdout.write(objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join(''));
  return 0;
}

function withNamespace(value: unknown, namespace: string): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const o = value as { metadata?: unknown };
  if (typeof o.metadata !== 'object' || o.metadata === null) return value;
  const meta = o.metadata as { namespace?: unknown };
  return meta.namespace === undefined ? { ...o, metadata: { ...meta, namespace } } : value;
}
