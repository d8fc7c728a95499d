import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Manager } from '../controllers/manager.ts';
import { defaultRenderSettings } from '../render/index.ts';
import { KubeClient } from '../runtime/client.ts';
import { parseDurationMs } from '../api/duration.ts';
import { loadRestConfig } from '../runtime/restconfig.ts';
import { createLogger, type Logger } from '../process/log.ts';
import { discoverApiServerCidrs, parseCidrList } from '../runtime/apiserver-addresses.ts';
import { createControllerMetrics } from '../runtime/metrics.ts';
import { startProbeServer, type ProbeServer } from '../process/probes.ts';

const help = `Usage: alcor-operator run [flags]

Runs the operator: watches MacPools, DhcpSubnets and DataPlaneManagers and
keeps their children and status true. Works in a pod (service account) or
with a kubeconfig.

Flags:
  --kubeconfig FILE                    kubeconfig to use (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --metrics-bind-address HOST:PORT     where /metrics is served (default :8080; "0" disables)
  --health-probe-bind-address HOST:PORT
                                       where /healthz and /readyz are served (default :8081)
  --leader-elect                       elect a leader through a Lease, so only one replica reconciles
  --leader-election-namespace NS       namespace of the Lease (default: $POD_NAMESPACE, else "default")
  --leader-election-id NAME            name of the Lease (default alcor-operator-leader)
  --workers N                          concurrent reconciles per kind (default 4)
  --resync-period DURATION             reconcile every resource again this often (default 10m)
  --progress-deadline DURATION         a rollout not Ready, or a config not applied by every server, after this is Degraded (default 10m)
  --image IMAGE                        image the macd and dhcpd pods run
                                       (default: $ALCOR_OPERATOR_IMAGE, else ${defaultRenderSettings.image})
  --api-server-cidrs CIDR,...          where the API server connects from: the macd and dhcpd NetworkPolicies
                                       admit these to the APIs kubectl-alcor reaches through the service proxy
                                       (default: the endpoints of the kubernetes Service, read at start; "none": no rule)
  --kube-api-qps N                     requests per second to the API server (default 100; 0: no client-side limit)
  --kube-api-burst N                   burst above the QPS (default 200)
  --log-level LEVEL                    trace, debug, info, warn, error (default info, or $LOG_LEVEL)
  -h, --help                           show this help
`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'metrics-bind-address': { type: 'string', default: ':8080' },
      'health-probe-bind-address': { type: 'string', default: ':8081' },
      'leader-elect': { type: 'boolean', default: false },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string', default: 'alcor-operator-leader' },
      workers: { type: 'string', default: '4' },
      'resync-period': { type: 'string', default: '10m' },
      'progress-deadline': { type: 'string', default: '10m' },
      image: { type: 'string' },
      'api-server-cidrs': { type: 'string' },
      'kube-api-qps': { type: 'string', default: '100' },
      'kube-api-burst': { type: 'string', default: '200' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const log = createLogger('alcor-operator', values['log-level'] as Parameters<typeof createLogger>[1]);
  const integer = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const positive = (name: string, v: string) => integer(name, v, 1);
  const durationMs = (name: string, v: string) => {
    const ms = parseDurationMs(v);
    if (ms === undefined || ms <= 0) throw new Error(`--${name} must be a duration such as 30s, 10m or 1h, got "${v}"`);
    return ms;
  };
  const metrics = createControllerMetrics();
  const client = new KubeClient(await loadRestConfig(values.kubeconfig), {
    requests: metrics.restClientRequests,
    rateLimiterWait: metrics.restClientRateLimiterDuration,
    qps: integer('kube-api-qps', values['kube-api-qps'], 0),
    burst: positive('kube-api-burst', values['kube-api-burst']),
  });
  const apiServerCIDRs = await apiServerSources(values['api-server-cidrs'], client, log);
  const identity = `${process.env['POD_NAME'] ?? hostname()}_${process.pid}`;
  let exitCode = 0;
  let shutdown: (signal: string) => Promise<void> = async () => {};
  const manager = new Manager({
    client,
    log,
    metrics,
    settings: { ...defaultRenderSettings, image: values.image ?? process.env['ALCOR_OPERATOR_IMAGE'] ?? defaultRenderSettings.image, apiServerCIDRs },
    workers: positive('workers', values.workers),
    resyncPeriodMs: durationMs('resync-period', values['resync-period']),
    progressDeadlineSeconds: durationMs('progress-deadline', values['progress-deadline']) / 1000,
    ...(values['leader-elect']
      ? {
          leaderElection: {
            namespace: values['leader-election-namespace'] ?? process.env['POD_NAMESPACE'] ?? 'default',
            name: values['leader-election-id'],
            identity,
          },
        }
      : {}),
    // As controller-runtime does: a replica that lost the lease exits, and is restarted as a candidate.
    onLeadershipLost: () => {
      exitCode = 1;
      void shutdown('leader election lost');
    },
  });

  const servers: ProbeServer[] = [];
  if (values['metrics-bind-address'] !== '0') {
    servers.push(await startProbeServer({ address: values['metrics-bind-address'], registry: metrics.registry, ready: () => manager.cachesSynced() }));
  }
  if (values['health-probe-bind-address'] !== '0' && values['health-probe-bind-address'] !== values['metrics-bind-address']) {
    servers.push(await startProbeServer({ address: values['health-probe-bind-address'], registry: metrics.registry, ready: () => manager.cachesSynced() }));
  }
  log.info({ identity, leaderElect: values['leader-elect'], ports: servers.map((s) => s.port) }, 'starting operator');

  const done = new Promise<void>((resolve) => {
    shutdown = async (signal: string) => {
      log.info({ signal }, 'shutting down');
      await manager.stop();
      await Promise.all(servers.map((s) => s.close()));
      client.close();
      resolve();
    };
  });
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  await manager.start();
  await done;
  log.info('stopped');
  return exitCode;
}

/** --api-server-cidrs, else the kubernetes Service's endpoints; a failed read is logged and leaves the rule out. */
async function apiServerSources(flag: string | undefined, client: KubeClient, log: Logger): Promise<string[]> {
  if (flag === 'none') return [];
  if (flag !== undefined) return parseCidrList(flag);
  try {
    const found = await discoverApiServerCidrs(client);
    if (found.length === 0) log.warn('the kubernetes Service lists no endpoints: the servers\' NetworkPolicies admit no API server proxy (set --api-server-cidrs)');
    else log.info({ apiServerCIDRs: found }, 'API server addresses for the servers\' NetworkPolicies');
    return found;
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'reading the API server addresses failed: the servers\' NetworkPolicies admit no API server proxy (set --api-server-cidrs)');
    return [];
  }
}
