// kubectl-alcor: the kubectl plugin of alcor-operator (`kubectl alcor ...`).
// It reads MacPools and DhcpSubnets from the API server and talks to their
// servers (macd, dhcpd) through the API server's service proxy: no
// port-forward, no credentials of its own. Subcommands load on use.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PluginError } from './cluster.ts';
import { makeCtx, type Ctx, type FlagValue } from './context.ts';
import { OUTPUT_FORMATS, type OutputFormat } from './output.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  summary: string;
  usage: string;
  help: string;
  examples: string;
  options: Options;
  run: () => Promise<(ctx: Ctx) => Promise<number>>;
}

const GLOBAL: Options = {
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  context: { type: 'string' },
  kubeconfig: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = `Global flags:
  -n, --namespace NS        the namespace (default: the context's, else "default")
  -A, --all-namespaces      every namespace (status, who-has, release)
      --context NAME        the kubeconfig context to use
      --kubeconfig FILE     the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  -o, --output FORMAT       table (default), json or yaml
  -h, --help                help for the command`;

const PAGING: Options = { limit: { type: 'string' }, continue: { type: 'string' }, 'chunk-size': { type: 'string' } };
const PAGING_HELP = `      --chunk-size N        entries asked per request (default 500, at most 5000)
      --limit N             stop after N entries and print the --continue token that resumes there
      --continue TOKEN      resume a listing where --limit stopped it`;

const commands: Record<string, Command> = {
  status: {
    summary: 'how full every MacPool and DhcpSubnet is, with replicas and conditions',
    usage: 'kubectl alcor status [-n NS | -A] [-o table|json|yaml]',
    help: 'Lists every MacPool and DhcpSubnet with its replicas ready, addresses used and capacity,\nutilization (a bar and a percentage) and conditions. Exits 3 when one is Degraded.',
    examples: '  kubectl alcor status -A\n  kubectl alcor status -n tenant-a -o json',
    options: {},
    run: async () => (await import('./commands/status.ts')).status,
  },
  'who-has': {
    summary: 'who holds a MAC (port, project, VPC) or an IP (client, hostname, expiry)',
    usage: 'kubectl alcor who-has MAC|IP [-n NS | -A] [-o table|json|yaml]',
    help: 'Finds the MacPool whose ranges hold the MAC, or the DhcpSubnet whose CIDR holds the IP, and asks\nits servers who holds it. Exits 1 when the address is in no pool or subnet, or is not held.',
    examples: '  kubectl alcor who-has aa:bb:cc:00:00:2a\n  kubectl alcor who-has 10.20.0.117 -A -o yaml',
    options: {},
    run: async () => (await import('./commands/holders.ts')).whoHas,
  },
  macs: {
    summary: "a MacPool's allocated MACs, a page at a time, filtered by project, VPC or port",
    usage: 'kubectl alcor macs POOL [--project ID] [--vpc ID] [--port ID] [--limit N] [--continue TOKEN]',
    help: `Lists the MACs allocated in a MacPool (engine builtin), in address order, streaming one page after
another: a pool with millions of MACs is never loaded whole.

      --project ID          only MACs of this project_id
      --vpc ID              only MACs of this vpc_id
      --port ID             only the MAC of this port_id
${PAGING_HELP}`,
    examples: '  kubectl alcor macs tenant-macs --project p-42\n  kubectl alcor macs tenant-macs --limit 100 -o json',
    options: { project: { type: 'string' }, vpc: { type: 'string' }, port: { type: 'string' }, ...PAGING },
    run: async () => (await import('./commands/listings.ts')).macs,
  },
  leases: {
    summary: "a DhcpSubnet's leases, a page at a time",
    usage: 'kubectl alcor leases SUBNET [--limit N] [--continue TOKEN]',
    help: `Lists the leases of a DhcpSubnet across all its servers, in address order, one page after another.

${PAGING_HELP}`,
    examples: '  kubectl alcor leases tenant-net\n  kubectl alcor leases tenant-net --limit 50 -o yaml',
    options: { ...PAGING },
    run: async () => (await import('./commands/listings.ts')).leases,
  },
  release: {
    summary: 'free a MAC or a leased IP (asks first, unless --yes)',
    usage: 'kubectl alcor release MAC|IP [-n NS | -A] [--yes]',
    help: `Shows who holds the address, asks for confirmation, releases it and prints what was released.
Without a terminal, --yes is required. Needs services/proxy create or delete (alcor-operator-admin).

  -y, --yes                 do not ask`,
    examples: '  kubectl alcor release aa:bb:cc:00:00:2a\n  kubectl alcor release 10.20.0.117 --yes',
    options: { yes: { type: 'boolean', short: 'y' } },
    run: async () => (await import('./commands/holders.ts')).release,
  },
  backup: {
    summary: "write a consistent snapshot of a pool's MACs or a subnet's leases to a file",
    usage: 'kubectl alcor backup POOL|SUBNET -f FILE',
    help: `Writes the allocations of a MacPool or the leases of a DhcpSubnet as JSON lines: a header (version,
the resource's uid, its ranges, the count) then one entry per line. Each server's part is a snapshot
taken at one instant. Name the kind when a pool and a subnet share a name (macpool/NAME,
dhcpsubnet/NAME).

  -f, --filename FILE       where to write ("-": stdout); written whole or not at all
      --server POD          node-local subnets: the one server to back up`,
    examples: '  kubectl alcor backup tenant-macs -f tenant-macs.jsonl\n  kubectl alcor backup dhcpsubnet/tenant-net -f - | gzip > leases.jsonl.gz',
    options: { filename: { type: 'string', short: 'f' }, server: { type: 'string' } },
    run: async () => (await import('./commands/files.ts')).backup,
  },
  restore: {
    summary: 'put a backup back into an empty pool or subnet, all or nothing',
    usage: 'kubectl alcor restore POOL|SUBNET -f FILE [--dry-run]',
    help: `Restores a backup into a MacPool or DhcpSubnet that holds nothing yet (for instance after deleting
and re-creating it). Every entry is checked first; a conflict (an address outside the ranges,
excluded, already held) refuses the whole file, listing each one, and nothing changes.

  -f, --filename FILE       the backup ("-": stdin)
      --dry-run             check only: say what would be restored
      --server POD          node-local subnets: the one server to restore into`,
    examples: '  kubectl delete macpool tenant-macs && kubectl apply -f tenant-macs.yaml\n  kubectl alcor restore tenant-macs -f tenant-macs.jsonl',
    options: { filename: { type: 'string', short: 'f' }, 'dry-run': { type: 'boolean' }, server: { type: 'string' } },
    run: async () => (await import('./commands/files.ts')).restore,
  },
  'import-kea': {
    summary: "migrate leases from Kea's memfile (leases4.csv), keeping addresses and expiry",
    usage: 'kubectl alcor import-kea SUBNET -f leases4.csv [-f ...] [--kea-subnet-id N] [--dry-run]',
    help: `Reads Kea's DHCPv4 lease file(s) and imports every live lease inside the subnet's CIDR (or of
--kea-subnet-id), with its client, hostname and expiry: clients renew the address they have.
Leases that ended are left out. All or nothing: a conflict refuses the whole import.

  -f, --filename FILE       a leases4.csv; repeat for Kea's older file first (-f leases4.csv.2 -f leases4.csv)
      --kea-subnet-id N     only leases of this Kea subnet-id
      --dry-run             check only
      --server POD          node-local subnets: the one server to import into`,
    examples: '  kubectl alcor import-kea tenant-net -f /var/lib/kea/kea-leases4.csv\n  kubectl alcor import-kea tenant-net -f leases4.csv --kea-subnet-id 7 --dry-run',
    options: { filename: { type: 'string', short: 'f', multiple: true }, 'kea-subnet-id': { type: 'string' }, 'dry-run': { type: 'boolean' }, server: { type: 'string' } },
    run: async () => (await import('./commands/files.ts')).importKea,
  },
  export: {
    summary: "a subnet's leases as Kea's leases4.csv (Kea reads it back) or as JSON lines",
    usage: 'kubectl alcor export SUBNET [--format kea-csv|jsonl] [-f FILE]',
    help: `Writes the subnet's leases. --format kea-csv writes Kea's memfile lease file (the columns of Kea
2.2, which later versions read too): put it where Kea's lease-database name points before Kea starts.

      --format FORMAT       kea-csv or jsonl (default: jsonl, the backup format)
  -f, --filename FILE       where to write (default "-": stdout)
      --kea-subnet-id N     the subnet-id the Kea lines carry (default 1)
      --server POD          node-local subnets: the one server to export`,
    examples: '  kubectl alcor export tenant-net --format kea-csv -f kea-leases4.csv',
    options: { format: { type: 'string' }, filename: { type: 'string', short: 'f' }, 'kea-subnet-id': { type: 'string' }, server: { type: 'string' } },
    run: async () => (await import('./commands/files.ts')).exportLeases,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return `kubectl alcor: see and change what alcor-operator's MAC pools and DHCP subnets hand out.

It talks to the macd and dhcpd servers through the API server's service proxy: no port-forward,
no extra credentials. RBAC on services/proxy decides: the chart's ClusterRole alcor-viewer reads,
alcor-operator-admin also releases, restores and imports.

Usage:
  kubectl alcor COMMAND [ARGS] [flags]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(width)}   ${c.summary}`)
  .join('\n')}

${GLOBAL_HELP}

Examples:
  kubectl alcor status -A
  kubectl alcor who-has aa:bb:cc:00:00:2a
  kubectl alcor who-has 10.20.0.117
  kubectl alcor release 10.20.0.117
  kubectl alcor macs tenant-macs --project p-42 --limit 20
  kubectl alcor backup tenant-macs -f tenant-macs.jsonl
  kubectl alcor import-kea tenant-net -f kea-leases4.csv

Exit codes: 0 done; 1 an error or a refusal (one line on stderr, nothing changed); 3 status found a
Degraded resource.

Run "kubectl alcor COMMAND --help" for a command's flags.
`;
}

function commandHelp(name: string, c: Command): string {
  return `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.\n\nUsage:\n  ${c.usage}\n\n${c.help}\n\nExamples:\n${c.examples}\n\n${GLOBAL_HELP}\n`;
}

/** Runs the plugin; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  // The command is the first argument that is not a flag or a flag's value (kubectl takes flags anywhere).
  const all: Options = { ...GLOBAL };
  for (const c of Object.values(commands)) Object.assign(all, c.options);
  let tokens: Array<{ kind: string; name?: string; value?: string | undefined }> = [];
  try {
    tokens = parseArgs({ args: argv, options: all, allowPositionals: true, strict: false, tokens: true }).tokens;
  } catch {
    // A malformed flag: the strict parse below says which.
  }
  const name = tokens.find((t) => t.kind === 'positional')?.value;
  if (name === undefined || name === 'help') {
    const wantsHelp = name === 'help' || tokens.some((t) => t.kind === 'option' && t.name === 'help');
    process.stdout.write(usage());
    return wantsHelp || argv.length === 0 ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`error: unknown command "${name}" for "kubectl alcor"\nRun "kubectl alcor --help" for the commands.\n`);
    return 1;
  }
  let values: Record<string, FlagValue>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: { ...GLOBAL, ...command.options }, allowPositionals: true, strict: true }) as { values: Record<string, FlagValue>; positionals: string[] });
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\nRun "kubectl alcor ${name} --help" for its flags.\n`);
    return 1;
  }
  if (values['help'] === true) {
    process.stdout.write(commandHelp(name, command));
    return 0;
  }
  const output = (values['output'] ?? 'table') as string;
  if (!OUTPUT_FORMATS.includes(output as OutputFormat)) {
    process.stderr.write(`error: unknown output format "${output}": want one of ${OUTPUT_FORMATS.join(', ')}\n`);
    return 1;
  }
  const args = positionals.slice(positionals.indexOf(name) + 1);
  const ctx = makeCtx(args, values, output as OutputFormat, {
    kubeconfig: values['kubeconfig'] as string | undefined,
    context: values['context'] as string | undefined,
    namespace: values['namespace'] as string | undefined,
    allNamespaces: values['all-namespaces'] as boolean | undefined,
  });
  try {
    return await (await command.run())(ctx);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message.split('\n')[0]}\n`);
    if (err instanceof PluginError) for (const d of err.details) process.stderr.write(`  ${d}\n`);
    return 1;
  } finally {
    await ctx.close();
  }
}
