// `alcor-operator macd`: the MAC allocator server.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { formatIssues } from '../api/common.ts';
import { MacdLimits, macdLimitDefaults, macdLimitFlags, macdLimitValues, type MacdLimitKey } from '../api/macd-limits.ts';
import { createLogger } from '../process/log.ts';
import { SHUTDOWN_LINGER_MS } from '../process/http-drain.ts';
import { parseHostPort } from '../process/probes.ts';
import { SHUTDOWN_TIMEOUT_DEFAULT, shutdownDrain, stopSignal } from '../process/shutdown.ts';
import { startMacd } from '../macd/server.ts';
import { KubeClient } from '../runtime/client.ts';
import { loadRestConfig } from '../runtime/restconfig.ts';

const HELP = `Usage: alcor-operator macd --listen HOST:PORT --data-dir DIR [flags]

Runs the MAC allocator: Alcor's MAC manager REST API (/macs..., also under /v4),
with /healthz, /readyz and /metrics on the same port, and an admin API under /v1
(allocated MACs a page at a time, a consistent export, an all-or-nothing import:
what kubectl alcor macs, backup and restore call; see docs/macd.md).

Flags:
  --listen HOST:PORT          address of the API (port 0 picks a free port; the
                              bound port is logged as "macd listening")
  --data-dir DIR              where the log, snapshot and metadata slots live
                              (created if missing)
  --config FILE               MacdConfig as YAML or JSON (the MacPool's ConfigMap);
                              watched and reloaded live (one it cannot parse at
                              startup: it serves nothing, reports why on its Lease
                              and waits for one it can). Without it: OUI aa:bb:cc,
                              one range "range0" aa:bb:cc:00:00:00-aa:bb:cc:ff:ff:ff
  --metrics-listen HOST:PORT  also serve /metrics, /healthz, /readyz on this address
                              (ready only once the state is loaded)
  --kubeconfig FILE           Kubernetes client config for coordination.mode
                              "kubernetes" (default: $KUBECONFIG, in-cluster,
                              ~/.kube/config)
  --replica NAME              this replica's name, the holder of its block Leases
                              (default: the host name, i.e. the pod name)
  --advertise-url URL         base URL where other replicas reach this API, written
                              to the block Leases (default: http://<listen host>:<port>)
  --pod-uid UID               metadata.uid of this pod (downward API), in its report
                              (default: none)
  --snapshot-mib N            log size in MiB after which a snapshot is taken
                              (default 16)
  --shutdown-timeout D        on SIGTERM or SIGINT: /readyz answers 503, the API
                              stops listening, answers what it is sent on open
                              connections with Connection: close, closes idle
                              ones after ${SHUTDOWN_LINGER_MS / 1000} s, and waits for the requests in
                              flight at most D, linger included; then the last
                              report, the snapshot, exit 0. A second signal exits
                              at once (default ${SHUTDOWN_TIMEOUT_DEFAULT}: with a 5 s preStop, fits a
                              30 s grace period)
  -h, --help                  this help

Limits (docs/macd.md, Limits; also on --metrics-listen):
  --max-request-bytes N       largest request body; larger: 413 body_too_large,
                              before it is read (default ${macdLimitDefaults.maxRequestBytes} = 1 MiB;
                              the bulk paths allow more, to fit --max-bulk mac_states)
  --max-bulk N                most mac_states in one bulk request; more: 413
                              bulk_too_large (default ${macdLimitDefaults.maxBulk})
  --max-id-length N           longest project_id, vpc_id, port_id, range_id
                              (letters, digits, . _ : @ -); longer: 400
                              invalid_request (default ${macdLimitDefaults.maxIdLength})
  --headers-timeout D         time to send a request's headers; slower: 408
                              (default ${macdLimitDefaults.headersTimeout})
  --request-timeout D         time to send a whole request (default ${macdLimitDefaults.requestTimeout})
  --keep-alive-timeout D      an idle keep-alive connection is closed after D
                              (default ${macdLimitDefaults.keepAliveTimeout})
  --max-connections N         open connections at most (default ${macdLimitDefaults.maxConnections})
  --max-requests-per-connection N
                              requests on one connection before the client is
                              asked to reconnect; 0: no limit (default ${macdLimitDefaults.maxRequestsPerConnection})

Environment: LOG_LEVEL (pino level, default info).
`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      'metrics-listen': { type: 'string' },
      kubeconfig: { type: 'string' },
      replica: { type: 'string' },
      'advertise-url': { type: 'string' },
      'pod-uid': { type: 'string' },
      'snapshot-mib': { type: 'string' },
      'shutdown-timeout': { type: 'string', default: SHUTDOWN_TIMEOUT_DEFAULT },
      ...Object.fromEntries(Object.values(macdLimitFlags).map((f) => [f, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.listen || !values['data-dir']) {
    process.stderr.write('macd: --listen and --data-dir are required\n\n' + HELP);
    return 2;
  }
  const limits = parseLimits(values as Record<string, string | boolean | undefined>);
  if (typeof limits === 'string') {
    process.stderr.write(`macd: ${limits}\n`);
    return 2;
  }
  const drain = shutdownDrain(values['shutdown-timeout']);
  if (typeof drain === 'string') {
    process.stderr.write(`macd: ${drain}\n`);
    return 2;
  }
  const { host, port } = parseHostPort(values.listen);
  const log = createLogger('macd');
  const replica = values.replica ?? hostname();
  const macd = await startMacd({
    host,
    port,
    dataDir: values['data-dir'],
    configFile: values.config,
    metricsAddress: values['metrics-listen'],
    log,
    limits,
    snapshotBytes: values['snapshot-mib'] ? Number(values['snapshot-mib']) * 1024 * 1024 : undefined,
    replica,
    ...(values['pod-uid'] ? { podUid: values['pod-uid'] } : {}),
    publishRefusal: async (pool, report) => {
      const { kubernetesLeaseApi } = await import('../macd/leases.ts');
      const { reportText } = await import('../api/leases.ts');
      const client = new KubeClient(await loadRestConfig(values.kubeconfig));
      try {
        await kubernetesLeaseApi(client, pool).putReport(replica, reportText(report));
      } finally {
        client.close();
      }
    },
    coordinate: async (store, config, api, report) => {
      if (config.coordination.mode !== 'kubernetes') return null;
      const { startReplica } = await import('../macd/replicas.ts');
      const client = new KubeClient(await loadRestConfig(values.kubeconfig));
      const advertise = values['advertise-url'] ?? `http://${host === '0.0.0.0' ? hostname() : host}:${api.port}`;
      const replicaMode = await startReplica({ store, config, client, replica, endpoint: advertise, log, report });
      return { ...replicaMode, close: () => replicaMode.close().finally(() => client.close()) };
    },
  });
  const signal = await stopSignal(log);
  log.info({ signal, timeoutMs: drain.timeoutMs }, 'shutting down: not ready, draining the API');
  try {
    await macd.close(drain);
  } catch (e) {
    log.error({ err: e }, 'shutdown failed');
    return 1;
  }
  log.info('stopped');
  return 0;
}

/** The limit flags given, checked by MacdLimits (the schema of the MacPool's limits too); a message when one is invalid. */
function parseLimits(values: Record<string, string | boolean | undefined>): ReturnType<typeof macdLimitValues> | string {
  const input: Record<string, string | number> = {};
  for (const [key, flag] of Object.entries(macdLimitFlags) as [MacdLimitKey, string][]) {
    const v = values[flag];
    if (typeof v !== 'string') continue;
    input[key] = typeof macdLimitDefaults[key] === 'number' ? Number(v) : v;
  }
  const r = MacdLimits.safeParse(input);
  if (!r.success) {
    const flagOf = (path: string): string => `--${macdLimitFlags[path as MacdLimitKey] ?? path}`;
    return formatIssues(r.error).replace(/^([A-Za-z]+):/gm, (_m, key: string) => `${flagOf(key)}:`);
  }
  return macdLimitValues(r.data);
}
