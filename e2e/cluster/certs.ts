import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Certificates {
  caCert: string;
  adminCert: string;
  adminKey: string;
  files: {
    caCert: string;
    caKey: string;
    servingCert: string;
    servingKey: string;
    adminCert: string;
    adminKey: string;
    saPublicKey: string;
    saPrivateKey: string;
  };
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A CA, the API server's serving certificate (loopback and the in-cluster
 * names), an admin client certificate (group system:masters) and the
 * service-account signing key pair, made with openssl.
 */
export async function makeCertificates(dir: string): Promise<Certificates> {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  await openssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '30', '-subj', '/CN=alcor-e2e-ca']);
  await signCert(dir, 'apiserver', '/CN=kube-apiserver', [
    'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
    'extendedKeyUsage=serverAuth',
  ]);
  await makeClientCert(dir, 'admin', '/O=system:masters/CN=alcor-e2e-admin');
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('sa.key')]);
  await openssl(['ec', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')]);
  writeFileSync(f('README'), 'Certificates of a throw-away local test cluster.\n');
  return {
    caCert: readFileSync(f('ca.crt'), 'utf8'),
    adminCert: readFileSync(f('admin.crt'), 'utf8'),
    adminKey: readFileSync(f('admin.key'), 'utf8'),
    files: {
      caCert: f('ca.crt'),
      caKey: f('ca.key'),
      servingCert: f('apiserver.crt'),
      servingKey: f('apiserver.key'),
      adminCert: f('admin.crt'),
      adminKey: f('admin.key'),
      saPublicKey: f('sa.pub'),
      saPrivateKey: f('sa.key'),
    },
  };
}

/** A key pair and a certificate for it signed by the CA in `dir` (made by makeCertificates). */
async function signCert(dir: string, name: string, subj: string, ext: string[]): Promise<{ cert: string; key: string }> {
  const f = (n: string) => join(dir, n);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  await openssl(['req', '-new', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subj, ...ext.flatMap((e) => ['-addext', e])]);
  await openssl([
    'x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f(`${name}.crt`), '-days', '30', '-copy_extensions', 'copy',
  ]);
  return { cert: f(`${name}.crt`), key: f(`${name}.key`) };
}

/** A client certificate signed by the CA in `dir`; returns its cert and key paths. */
export function makeClientCert(dir: string, name: string, subj: string): Promise<{ cert: string; key: string }> {
  return signCert(dir, name, subj, ['extendedKeyUsage=clientAuth']);
}

/** PEM material in a kubeconfig: a file path, or the PEM text (embedded base64). */
export type Pem = { file: string } | { pem: string };

/** A kubeconfig for `server` authenticating `user` with a client certificate. */
export function kubeconfigYaml(server: string, user: string, ca: Pem, cert: Pem, key: Pem): string {
  const field = (name: string, v: Pem) => ('file' in v ? `${name}: ${v.file}` : `${name}-data: ${Buffer.from(v.pem).toString('base64')}`);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: alcor-e2e',
    '  cluster:',
    `    server: ${server}`,
    `    ${field('certificate-authority', ca)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    ${field('client-certificate', cert)}`,
    `    ${field('client-key', key)}`,
    'contexts:',
    '- name: alcor-e2e',
    `  context: {cluster: alcor-e2e, user: ${user}}`,
    'current-context: alcor-e2e',
    '',
  ].join('\n');
}
