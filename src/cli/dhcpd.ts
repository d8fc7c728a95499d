// `alcor-operator dhcpd`: the DHCPv4 server of a DhcpSubnet's pods.

import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { createLogger } from '../process/log.ts';
import { startDaemon } from '../dhcpd/daemon.ts';

const help = `Usage: alcor-operator dhcpd --config FILE --data-dir DIR [flags]

Serves DHCPv4 (RFC 2131/2132) for the subnets of a DhcpdConfig (the content
of a DhcpSubnet's ConfigMap, YAML or JSON). The file is reloaded when it
changes; leases are kept in an append-only log in --data-dir.

Flags:
  --config FILE            DhcpdConfig file (YAML or JSON); watched and reloaded live. Required.
  --data-dir DIR           Directory of the lease log (created if missing). Required.
  --share N                HA: this replica's share of the pools, 0..ha.shares-1 (default 0).
  --listen-address IP      Address of the DHCP socket (default 0.0.0.0, needed for broadcasts).
  --listen-port PORT       UDP port of the DHCP socket (default 67).
  --metrics-listen H:P     Serve /metrics, /healthz, /readyz on HOST:PORT (default 0.0.0.0:9067; "off" disables).
  --server-id IP           Server identifier for relayed subnets (default: first non-loopback IPv4 address).
  --offer-hold SECONDS     How long an OFFER reserves its address (default 30).
  --icmp-helper PATH       The ICMP echo helper for conflictDetection: ping (default: libexec/alcor-icmp-probe of the package).
  --ping-timeout MS        How long a ping check waits for a reply before the address counts as free (default 500).
  --log-level LEVEL        pino level: trace, debug, info, warn, error (default info, or $LOG_LEVEL).
  --kubeconfig FILE        Kubernetes client config for the status Lease (default: $KUBECONFIG, in-cluster, ~/.kube/config).
  --status-lease NAME      Name of that Lease (enables status publishing).
  --namespace NS           Namespace of that Lease (default: the pod's namespace).
  --server-name NAME       Value of the alcor.dev/dhcp-server label on that Lease.
  -h, --help               Show this help.
`;

export async function main(argv: string[]): Promise<number> {
  // Grow the heap conservatively: a DHCP pod's memory is mostly leases plus
  // short-lived packet garbage, and V8's default growth keeps tens of MiB of
  // the latter resident. (Not settable through NODE_OPTIONS; read at each GC.)
  setFlagsFromString('--optimize-for-size');
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        share: { type: 'string', default: '0' },
        'listen-address': { type: 'string', default: '0.0.0.0' },
        'listen-port': { type: 'string', default: '67' },
        'metrics-listen': { type: 'string', default: '0.0.0.0:9067' },
        'server-id': { type: 'string' },
        'offer-hold': { type: 'string', default: '30' },
        'icmp-helper': { type: 'string' },
        'ping-timeout': { type: 'string', default: '500' },
        'log-level': { type: 'string' },
        kubeconfig: { type: 'string' },
        'status-lease': { type: 'string' },
        namespace: { type: 'string' },
        'server-name': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`alcor-operator dhcpd: ${err instanceof Error ? err.message : String(err)}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  if (!values.config || !values['data-dir']) {
    process.stderr.write(`alcor-operator dhcpd: --config and --data-dir are required\n\n${help}`);
    return 2;
  }
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got "${v}"`);
    return n;
  };
  const level = values['log-level'];
  const logger = createLogger('dhcpd', level as Parameters<typeof createLogger>[1]);
  const metricsListen = values['metrics-listen'] === 'off' ? undefined : values['metrics-listen'];
  const daemon = await startDaemon({
    configPath: values.config,
    dataDir: values['data-dir'],
    share: int('share', values.share, 0, 63),
    listenAddress: values['listen-address'],
    listenPort: int('listen-port', values['listen-port'], 0, 65535),
    ...(metricsListen !== undefined ? { metricsListen } : {}),
    ...(values['server-id'] !== undefined ? { serverId: values['server-id'] } : {}),
    offerHoldSeconds: int('offer-hold', values['offer-hold'], 1, 3600),
    ...(values['icmp-helper'] !== undefined ? { icmpHelper: values['icmp-helper'] } : {}),
    pingTimeoutMs: int('ping-timeout', values['ping-timeout'], 10, 10_000),
    logger,
  });
  let stopStatus: (() => Promise<void>) | undefined;
  if (values['status-lease']) {
    const { startStatusPublisher } = await import('../dhcpd/status-lease.ts');
    stopStatus = await startStatusPublisher({
      core: daemon.core,
      prober: daemon.prober,
      leaseName: values['status-lease'],
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
      ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
      serverName: values['server-name'] ?? values['status-lease'],
      logger,
    });
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  logger.info('shutting down');
  await stopStatus?.();
  await daemon.close();
  return 0;
}
