// Where the servers' APIs are: the Services the operator renders for a
// MacPool and a DhcpSubnet, their API ports, and the paths kubectl-alcor
// reaches them by through the API server's service proxy (so it needs no
// port-forward and no credentials of its own: RBAC on services/proxy decides).
// One definition for the renderers and the plugin.

/** engine builtin: macd's StatefulSet and its Service (Alcor's MAC manager API). */
export const macdName = (pool: string): string => `${pool}-macd`;
/** engine alcor: Alcor's Java MAC manager Deployment and Service. */
export const macManagerName = (pool: string): string => `${pool}-macmanager`;
/** A DhcpSubnet's servers (StatefulSet or DaemonSet) and their Service. */
export const dhcpdName = (subnet: string): string => `${subnet}-dhcpd`;

/** macd's API port (container) and its name on the Service. */
export const MACD_API_PORT = 8080;
export const MACD_API_PORT_NAME = 'http';
/** dhcpd's lease API (src/dhcpd/api): a port of its own, which only the API server and the subnet's replicas may reach. */
export const DHCPD_API_PORT = 9068;
export const DHCPD_API_PORT_NAME = 'api';

/** The API server's proxy path to a Service's port: GET/POST/... of `path` there. */
export function serviceProxyPath(namespace: string, service: string, portName: string, path: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/http:${encodeURIComponent(service)}:${portName}/proxy${path}`;
}
