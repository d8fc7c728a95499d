import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { generateCrds } from '../api/crds.ts';

// `alcor-operator crds`: the CustomResourceDefinitions, ready for
// `alcor-operator crds | kubectl apply --server-side -f -`.

const help = `Usage: alcor-operator crds [--help]

Prints the CustomResourceDefinitions of MacPool, DhcpSubnet and
DataPlaneManager (group alcor.dev, version v1alpha1) as multi-document YAML,
generated from the API schemas. Install them with:

  alcor-operator crds | kubectl apply --server-side -f -

Flags:
  -h, --help   show this help
`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`alcor-operator crds: ${err instanceof Error ? err.message : String(err)}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  process.stdout.write(generateCrds().map((crd) => `---\n${stringify(crd, { lineWidth: 0 })}`).join(''));
  return 0;
}
