// The single entry point: `alcor-operator <command> [flags]`.
// Each command lives in its own module and is loaded only when used, so the
// allocator and DHCP pods never load the controller code.

const commands: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  run: { summary: 'run the operator (controllers for MacPool, DhcpSubnet, DataPlaneManager)', load: () => import('./run.ts') },
  render: { summary: 'print the Kubernetes objects a resource renders to, without a cluster', load: () => import('./render.ts') },
  crds: { summary: 'print the CustomResourceDefinitions generated from the API schemas', load: () => import('./crds.ts') },
  macd: { summary: "run the MAC allocator (Alcor's MAC manager REST API)", load: () => import('./macd.ts') },
  dhcpd: { summary: 'run the DHCPv4 server for DhcpSubnets', load: () => import('./dhcpd.ts') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return [
    'Usage: alcor-operator <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `alcor-operator <command> --help` for the flags of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`alcor-operator: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const mod = await command.load();
  return mod.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`alcor-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
