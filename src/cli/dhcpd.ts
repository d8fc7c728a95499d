// `alcor-operator dhcpd`: the DHCPv4 server of a DhcpSubnet's pods.

import { availableParallelism, hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { createLogger } from '../process/log.ts';
import { SHUTDOWN_LINGER_MS, type DrainOptions, type Drained } from '../process/http-drain.ts';
import { SHUTDOWN_TIMEOUT_DEFAULT, shutdownDrain, stopSignal } from '../process/shutdown.ts';
import { startDaemon, type Daemon } from '../dhcpd/daemon.ts';
import type { Logger } from '../process/log.ts';
import type { KubeClient } from '../runtime/client.ts';
import { DHCPD_API_PORT_NAME } from '../api/services.ts';
import type { StatusPublisher } from '../dhcpd/status-lease.ts';
import { DHCP_CONFLICTS_ANNOTATION, DHCP_RESERVATIONS_ANNOTATION, SERVED_ANNOTATION, reportText } from '../api/leases.ts';

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
  --socket-thread MODE     on: receive and send in a thread of their own, so the server uses a second core;
                           off: everything in one thread; auto (default): on when more than one CPU is available.
  --metrics-listen H:P     Serve /metrics, /healthz, /readyz on HOST:PORT (default 0.0.0.0:9067; "off" disables).
  --server-id IP           Server identifier for relayed subnets (default: first non-loopback IPv4 address).
  --offer-hold SECONDS     How long an OFFER reserves its address (default 30).
  --icmp-helper PATH       The ICMP echo helper for conflictDetection: ping (default: libexec/alcor-icmp-probe of the package).
  --ping-timeout MS        How long a ping check waits for a reply before the address counts as free (default 500).
  --log-level LEVEL        pino level: trace, debug, info, warn, error (default info, or $LOG_LEVEL).
  --kubeconfig FILE        Kubernetes client config for the report Lease (default: $KUBECONFIG, in-cluster, ~/.kube/config).
  --status-lease NAME      Name of the report Lease: what this server serves (config generation applied,
                           parts refused, capacity, bound leases) in its alcor.dev/served annotation,
                           which the operator's status is built from. Enables publishing.
  --namespace NS           Namespace of that Lease (default: the pod's namespace).
  --server-name NAME       Value of the alcor.dev/dhcp-server label on that Lease.
  --owner-pod NAME         The pod this server runs in, and with --owner-pod-uid its UID: the Lease's owner,
  --owner-pod-uid UID      so the garbage collector deletes it with the pod (default: no owner).
  --api-listen H:P         Serve the lease API (list, get, release, export, import) on HOST:PORT (default off).
  --replica NAME           This server's name in the lease API's answers (default: $POD_NAME, else the host name).
  --peers-service NAME     The Service whose EndpointSlices list the other replicas of the subnet (in --namespace):
                           the lease API answers for all of them, whichever one is asked.
  --peer URL               Instead: the lease API URL of another replica (repeatable; without Kubernetes).
  --api-max-import-mib N   Largest import body the lease API reads (default 256).
  --shutdown-timeout D     On SIGTERM or SIGINT: /readyz answers 503, DHCP packets are no longer taken (the ones
                           taken finish: records durable, then replies sent), the lease API stops listening,
                           answers what it is sent on open connections with Connection: close, closes idle ones
                           after ${SHUTDOWN_LINGER_MS / 1000} s and waits for the requests in flight at most D, linger included; exit 0.
                           A second signal exits at once (default ${SHUTDOWN_TIMEOUT_DEFAULT}).
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
        'socket-thread': { type: 'string', default: 'auto' },
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
        'owner-pod': { type: 'string' },
        'owner-pod-uid': { type: 'string' },
        'api-listen': { type: 'string', default: 'off' },
        replica: { type: 'string' },
        'peers-service': { type: 'string' },
        peer: { type: 'string', multiple: true, default: [] },
        'api-max-import-mib': { type: 'string', default: '256' },
        'shutdown-timeout': { type: 'string', default: SHUTDOWN_TIMEOUT_DEFAULT },
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
  if ((values['owner-pod'] === undefined) !== (values['owner-pod-uid'] === undefined)) {
    process.stderr.write(`alcor-operator dhcpd: --owner-pod and --owner-pod-uid go together\n\n${help}`);
    return 2;
  }
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got "${v}"`);
    return n;
  };
  const drain = shutdownDrain(values['shutdown-timeout']);
  if (typeof drain === 'string') {
    process.stderr.write(`alcor-operator dhcpd: ${drain}\n`);
    return 2;
  }
  const level = values['log-level'];
  const logger = createLogger('dhcpd', level as Parameters<typeof createLogger>[1]);
  const metricsListen = values['metrics-listen'] === 'off' ? undefined : values['metrics-listen'];
  const socketThread = values['socket-thread'];
  if (socketThread !== 'on' && socketThread !== 'off' && socketThread !== 'auto') {
    process.stderr.write(`alcor-operator dhcpd: --socket-thread must be on, off or auto, got "${socketThread}"\n`);
    return 2;
  }
  const daemon = await startDaemon({
    configPath: values.config,
    dataDir: values['data-dir'],
    share: int('share', values.share, 0, 63),
    listenAddress: values['listen-address'],
    listenPort: int('listen-port', values['listen-port'], 0, 65535),
    socketThread: socketThread === 'auto' ? availableParallelism() > 1 : socketThread === 'on',
    ...(metricsListen !== undefined ? { metricsListen } : {}),
    ...(values['server-id'] !== undefined ? { serverId: values['server-id'] } : {}),
    offerHoldSeconds: int('offer-hold', values['offer-hold'], 1, 3600),
    ...(values['icmp-helper'] !== undefined ? { icmpHelper: values['icmp-helper'] } : {}),
    pingTimeoutMs: int('ping-timeout', values['ping-timeout'], 10, 10_000),
    logger,
    onReload: () => status?.publishNow(),
  });
  let status: StatusPublisher | undefined;
  if (values['status-lease']) {
    const { dhcpdReport, startStatusPublisher } = await import('../dhcpd/status-lease.ts');
    const { conflictReport, reservationReport } = await import('../dhcpd/status-report.ts');
    status = await startStatusPublisher({
      annotations: (now) => ({
        [SERVED_ANNOTATION]: reportText(dhcpdReport(daemon.core, daemon.applied(), daemon.share, now, values['owner-pod-uid'])),
        [DHCP_CONFLICTS_ANNOTATION]: reportText(conflictReport(daemon.core, now, daemon.prober.unavailable())),
        [DHCP_RESERVATIONS_ANNOTATION]: reportText(reservationReport(daemon.core, now)),
      }),
      leaseName: values['status-lease'],
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
      ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
      serverName: values['server-name'] ?? values['status-lease'],
      ...(values['owner-pod'] !== undefined && values['owner-pod-uid'] !== undefined ? { ownerPod: { name: values['owner-pod'], uid: values['owner-pod-uid'] } } : {}),
      logger,
    });
  }
  const api = values['api-listen'] === 'off' ? undefined : await startApi(values, daemon, logger, int);
  const signal = await stopSignal(logger);
  logger.info({ signal, timeoutMs: drain.timeoutMs }, 'shutting down: not ready, taking no new DHCP packet, draining the lease API');
  daemon.stopServing();
  if (api) {
    const drained = await api.close(drain);
    if (drained.cutOwing > 0) logger.warn(drained, 'lease API drained, but requests still in flight at the timeout were cut: their answers are lost');
    else logger.info(drained, 'lease API drained');
  }
  await daemon.close();
  await status?.stop();
  logger.info('stopped');
  return 0;
}

/** The lease API, with its peers from the Service's EndpointSlices or from --peer. */
async function startApi(
  values: { 'api-listen': string; replica?: string | undefined; 'peers-service'?: string | undefined; peer: string[]; 'api-max-import-mib': string; share: string; namespace?: string | undefined; kubeconfig?: string | undefined },
  daemon: Daemon,
  log: Logger,
  int: (name: string, v: string, min: number, max: number) => number,
): Promise<{ close(drain: DrainOptions): Promise<Drained> }> {
  const { startLeaseApi } = await import('../dhcpd/api/start.ts');
  const { endpointSlicePeers, staticPeers } = await import('../dhcpd/api/peers.ts');
  const name = values.replica ?? process.env['POD_NAME'] ?? hostname();
  let peers;
  let client: KubeClient | undefined;
  if (values['peers-service']) {
    const { KubeClient } = await import('../runtime/client.ts');
    const { loadRestConfig } = await import('../runtime/restconfig.ts');
    const config = await loadRestConfig(values.kubeconfig);
    client = new KubeClient(config);
    const namespace = values.namespace ?? config.namespace ?? 'default';
    peers = endpointSlicePeers({ client, namespace, service: values['peers-service'], portName: DHCPD_API_PORT_NAME, self: name });
  } else if (values.peer.length > 0) {
    peers = staticPeers(values.peer);
  }
  const api = await startLeaseApi({
    address: values['api-listen'],
    core: daemon.core,
    persist: (records) => daemon.persist(records),
    name,
    share: int('share', values.share, 0, 63),
    ...(peers ? { peers } : {}),
    registry: daemon.metrics.registry,
    log,
    maxImportBytes: int('api-max-import-mib', values['api-max-import-mib'], 1, 4096) * 1024 * 1024,
    ...(daemon.blocked !== undefined ? { blocked: daemon.blocked } : {}),
  });
  log.info({ port: api.port, replica: name, peers: values['peers-service'] ?? values.peer }, 'lease API serving');
  return {
    close: async (drain) => {
      const drained = await api.close(drain);
      client?.close();
      return drained;
    },
  };
}
