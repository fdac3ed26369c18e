/**
 * Deploy artefacts: the Helm chart rendered by a real helm binary (built from the Go module proxy on first use by
 * scripts/helm.mjs), its objects schema-validated offline with kubernetes-models and checked for the properties
 * production depends on; plus static checks of the Dockerfile and Compose file (no Docker engine on this machine,
 * so those are structural checks of the text, not builds).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  type IConfigMap,
  type IContainer,
  type ISecret,
  type IService,
  type IServiceAccount,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import { ensureHelm } from '../../scripts/helm.mjs';
import { SECRET_SETTINGS, envSchema } from '../../src/config.js';
import { YOUNG_GENERATION_FLAG } from '../../src/young-generation.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const chart = path.join(root, 'deploy/helm/kafka-gateway');
const ciValues = (name: string) => path.join(chart, 'ci', name);

/** The rendered kinds, each with the kubernetes-models class that validates it and the interface it then has. */
const models = {
  Deployment: { apiVersion: 'apps/v1', model: Deployment },
  HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', model: HorizontalPodAutoscaler },
  PodDisruptionBudget: { apiVersion: 'policy/v1', model: PodDisruptionBudget },
  ConfigMap: { apiVersion: 'v1', model: ConfigMap },
  Secret: { apiVersion: 'v1', model: Secret },
  Service: { apiVersion: 'v1', model: Service },
  ServiceAccount: { apiVersion: 'v1', model: ServiceAccount },
} as const;
interface KindTypes {
  Deployment: IDeployment;
  HorizontalPodAutoscaler: IHorizontalPodAutoscaler;
  PodDisruptionBudget: IPodDisruptionBudget;
  ConfigMap: IConfigMap;
  Secret: ISecret;
  Service: IService;
  ServiceAccount: IServiceAccount;
}
type Kind = keyof KindTypes;
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
}
interface Rendered {
  objects: K8sObject[];
  one<K extends Kind>(kind: K): KindTypes[K];
  maybe<K extends Kind>(kind: K): KindTypes[K] | undefined;
}

/** A value the schema leaves optional but this chart must render. */
function need<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing: ${what}`);
  return value;
}

let helm = '';

async function helmRun(args: string[]) {
  return run(helm, args, { cwd: root, maxBuffer: 16 * 1024 * 1024 });
}

/** `helm template`, every object schema-validated offline (kubernetes-models), then typed by kind. */
async function render(...valuesFiles: string[]): Promise<Rendered> {
  const args = ['template', 'gw', chart, '--namespace', 'gw-test'];
  for (const f of valuesFiles) args.push('-f', f);
  const { stdout } = await helmRun(args);
  const objects = parseAllDocuments(stdout)
    .map((d) => {
      if (d.errors.length) throw d.errors[0];
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
  for (const o of objects) {
    const entry = (models as Record<string, { apiVersion: string; model: new (d: never) => { validate(): void } }>)[
      o.kind
    ];
    expect(entry, `a schema for ${o.apiVersion} ${o.kind}`).toBeDefined();
    expect(o.apiVersion, `${o.kind} apiVersion`).toBe(entry!.apiVersion);
    expect(() => new entry!.model(o as never).validate(), `${o.kind}/${o.metadata.name} is schema-valid`).not.toThrow();
  }
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    objects,
    one<K extends Kind>(kind: K) {
      const found = ofKind(kind);
      expect(found, `exactly one ${kind}`).toHaveLength(1);
      return found[0] as unknown as KindTypes[K];
    },
    maybe<K extends Kind>(kind: K) {
      return ofKind(kind)[0] as unknown as KindTypes[K] | undefined;
    },
  };
}

async function renderError(...setArgs: string[]): Promise<string> {
  const args = ['template', 'gw', chart];
  for (const s of setArgs) args.push('--set', s);
  try {
    await helmRun(args);
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
  throw new Error(`helm template ${setArgs.join(' ')} should have failed`);
}

/** The Service clients use (the chart's other Service, with peers.enabled, is the headless `-peers` one). */
const clientService = (r: Rendered): IService =>
  need(
    r.objects.find((o) => o.kind === 'Service' && !o.metadata.name?.endsWith('-peers')) as IService | undefined,
    'the client Service',
  );
const peersService = (r: Rendered): IService =>
  need(
    r.objects.find((o) => o.kind === 'Service' && o.metadata.name?.endsWith('-peers')) as IService | undefined,
    'the peers Service',
  );

const podSpec = (d: IDeployment) => need(need(d.spec, 'Deployment spec').template.spec, 'pod spec');
const container = (d: IDeployment): IContainer => need(podSpec(d).containers[0], 'container');
const envOf = (d: IDeployment): Record<string, string> =>
  Object.fromEntries((container(d).env ?? []).map((e) => [e.name, e.value ?? '']));
const nameOf = (o: { metadata?: { name?: string } }) => need(o.metadata?.name, 'metadata.name');

/** Names the gateway reads (src/config.ts): every setting, plus `<SECRET>_FILE` for the secret ones. */
const knownSettings = new Set<string>([...Object.keys(envSchema.shape), ...SECRET_SETTINGS.map((s) => `${s}_FILE`)]);

/** The assertions every rendering must pass. */
function checkCommon(r: Rendered) {
  const deploy = r.one('Deployment');
  const pod = podSpec(deploy);
  const c = container(deploy);
  const podLabels = need(need(deploy.spec, 'spec').template.metadata?.labels, 'pod labels');
  const matches = (selector: Record<string, string> | undefined) =>
    Object.keys(selector ?? {}).length > 0 && Object.entries(selector ?? {}).every(([k, v]) => podLabels[k] === v);
  expect(matches(deploy.spec?.selector.matchLabels)).toBe(true);

  // probes: readiness follows Kafka (/readyz), liveness and startup only the process (/healthz), on the app port
  const http = need(
    c.ports?.find((p) => p.name === 'http'),
    'container port "http"',
  );
  expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
  expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
  expect(c.startupProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });

  // the app listens where the container port says
  const cm = r.one('ConfigMap');
  const data = need(cm.data, 'ConfigMap data');
  expect(c.envFrom).toContainEqual({ configMapRef: { name: nameOf(cm) } });
  expect(Number(data.PORT)).toBe(http.containerPort);

  // non-root, read-only, no privilege escalation, no capabilities, seccomp
  expect(pod.securityContext?.runAsNonRoot).toBe(true);
  expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
  expect(c.securityContext).toMatchObject({
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(c.securityContext?.privileged ?? false).toBe(false);
  expect(pod.automountServiceAccountToken).toBe(false);
  // a writable /tmp, since the root filesystem is read-only
  const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
  expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();

  // resources set; memory limited
  expect(c.resources?.requests?.cpu).toBeTruthy();
  expect(c.resources?.requests?.memory).toBeTruthy();
  expect(c.resources?.limits?.memory).toBeTruthy();

  // shutdown: preStop sleep, then the app's drain, all inside the grace period
  const shutdownS = Number(data.SHUTDOWN_TIMEOUT_MS) / 1000;
  const preStop = need(c.lifecycle?.preStop, 'preStop');
  const command = preStop.exec?.command ?? [];
  if (!preStop.sleep) expect(command[0]).toBe('sleep');
  const sleepS = preStop.sleep ? preStop.sleep.seconds : Number(command.at(-1));
  expect(sleepS).toBeGreaterThan(0);
  expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleepS + shutdownS);

  // Service → the pods' http port
  const svc = clientService(r);
  expect(matches(svc.spec?.selector)).toBe(true);
  const ports = need(svc.spec?.ports, 'Service ports');
  expect(ports).toHaveLength(1);
  expect([http.name, http.containerPort]).toContain(ports[0]!.targetPort);

  // the PDB guards these pods
  expect(matches(r.one('PodDisruptionBudget').spec?.selector?.matchLabels)).toBe(true);

  // the service account the pod uses exists
  expect(nameOf(r.one('ServiceAccount'))).toBe(pod.serviceAccountName);

  // every variable the chart sets is a name the gateway reads (the public names in docs/configuration.md)
  const setByChart = [...Object.keys(data), ...Object.keys(envOf(deploy))];
  expect(setByChart.filter((n) => !knownSettings.has(n))).toEqual([]);
  // and secrets never travel in the ConfigMap
  for (const s of SECRET_SETTINGS) {
    expect(data[s]).toBeUndefined();
    expect(data[`${s}_FILE`]).toBeUndefined();
  }
  return { deploy, c, data };
}

/** Each *_FILE variable points at a file that a read-only secret volume projects from a named key. */
function checkSecretFiles(r: Rendered, expected: string[]) {
  const deploy = r.one('Deployment');
  const pod = podSpec(deploy);
  const c = container(deploy);
  const env = envOf(deploy);
  const inline = r.maybe('Secret');
  const refs: { env: string; secretName: string; key: string }[] = [];
  for (const name of expected) {
    const file = need(env[name], `${name} is set`);
    const mount = need(
      c.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`)),
      `${name}=${file} lies under a volume mount`,
    );
    expect(mount.readOnly).toBe(true);
    const secret = need(pod.volumes?.find((v) => v.name === mount.name)?.secret, `${mount.name} is a secret volume`);
    const item = need(
      secret.items?.find((i) => i.path === file.slice(mount.mountPath.length + 1)),
      `${name}: the secret volume projects ${file}`,
    );
    expect(need(secret.defaultMode, 'defaultMode') & 0o337).toBe(0); // read-only for owner and group, none for others
    const secretName = need(secret.secretName, 'secretName');
    refs.push({ env: name, secretName, key: item.key });
    if (inline && secretName === nameOf(inline)) {
      expect(inline.data?.[item.key], `${name}: the chart's Secret holds key ${item.key}`).toBeTruthy();
    }
  }
  // no other *_FILE variable
  for (const [name, value] of Object.entries(env)) {
    if (name.endsWith('_FILE')) expect(expected, `unexpected ${name}=${value}`).toContain(name);
  }
  return refs;
}

describe('helm chart deploy/helm/kafka-gateway', () => {
  beforeAll(async () => {
    helm = await ensureHelm();
  }, 600_000);

  it('passes helm lint --strict with the default values and each ci/ values file', async () => {
    for (const f of [[], [ciValues('inline-secrets-values.yaml')], [ciValues('existing-secrets-values.yaml')]]) {
      const args = ['lint', '--strict', chart];
      for (const v of f) args.push('-f', v);
      const { stdout } = await helmRun(args);
      expect(stdout).toContain('0 chart(s) failed');
    }
  });

  it('default values: schema-valid Deployment, Service, ConfigMap, PDB, HPA, ServiceAccount; no secrets', async () => {
    const r = await render();
    const { deploy, c } = checkCommon(r);
    expect(r.objects.map((o) => o.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'ServiceAccount'].sort(),
    );
    // the HPA owns the replica count and scales this Deployment
    const hpa = need(r.one('HorizontalPodAutoscaler').spec, 'HPA spec');
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: nameOf(deploy) });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.maxReplicas).toBeGreaterThan(need(hpa.minReplicas, 'minReplicas'));
    expect(deploy.spec?.replicas).toBeUndefined();
    // the PDB lets a drain proceed one pod at a time
    expect(r.one('PodDisruptionBudget').spec?.maxUnavailable).toBe(1);
    // no secret mounts and no *_FILE variables when none are configured
    expect(checkSecretFiles(r, [])).toEqual([]);
    expect(c.readinessProbe?.httpGet?.scheme).toBe('HTTP');
  });

  it('inline TLS/SASL/JWT secrets: one chart Secret, mounted read-only, *_FILE settings point into the mounts', async () => {
    const r = await render(ciValues('inline-secrets-values.yaml'));
    const { deploy, c, data } = checkCommon(r);
    const secret = r.one('Secret');
    const refs = checkSecretFiles(r, [
      'KAFKA_SSL_CA_FILE',
      'KAFKA_SSL_CERT_FILE',
      'KAFKA_SSL_KEY_FILE',
      'KAFKA_SSL_KEY_PASSWORD_FILE',
      'KAFKA_SASL_USERNAME_FILE',
      'KAFKA_SASL_PASSWORD_FILE',
      'AUTH_PUBLIC_KEY_FILE',
      'TLS_CERT_FILE',
      'TLS_KEY_FILE',
      'PEER_SECRET_FILE',
    ]);
    expect(new Set(refs.map((x) => x.secretName))).toEqual(new Set([nameOf(secret)]));
    const password = need(secret.data?.['kafka-sasl-password'], 'SASL password in the Secret');
    expect(Buffer.from(password, 'base64').toString()).toBe('test-sasl-password');
    expect(data).toMatchObject({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', AUTH_MODE: 'jwt' });
    // secret text appears only in the Secret object
    const elsewhere = JSON.stringify(r.objects.filter((o) => o.kind !== 'Secret'));
    expect(elsewhere).not.toContain('test-sasl-password');
    expect(elsewhere).not.toContain(password);
    // the pods roll when the Secret changes
    expect(deploy.spec?.template.metadata?.annotations?.['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    // serving TLS: probes and Service speak HTTPS
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe])
      expect(probe?.httpGet?.scheme).toBe('HTTPS');
    expect(clientService(r).spec?.ports?.[0]?.appProtocol).toBe('https');
    // peers: a headless Service of the same pods, PEER_URLS at its name and the pods' port, the secret as a file
    const peers = peersService(r);
    expect(peers.spec?.clusterIP).toBe('None');
    expect(peers.spec?.selector).toEqual(clientService(r).spec?.selector);
    expect(data.PEER_URLS).toBe(`https://${nameOf(peers)}.gw-test.svc:${data.PORT}`);
    expect(peers.spec?.ports?.[0]?.targetPort).toBe('http');
    const peerSecret = need(secret.data?.['peers-peer-secret'], 'PEER_SECRET in the Secret');
    expect(Buffer.from(peerSecret, 'base64').toString()).toBe('test-peer-secret-placeholder-0123456789');
    expect(elsewhere).not.toContain('test-peer-secret-placeholder');
  });

  it('existing Secrets (mTLS, OAUTHBEARER, HS256): referenced by name and key, no chart Secret', async () => {
    const r = await render(ciValues('existing-secrets-values.yaml'));
    const { deploy, c, data } = checkCommon(r);
    expect(r.maybe('Secret')).toBeUndefined();
    const refs = checkSecretFiles(r, [
      'KAFKA_SSL_CA_FILE',
      'KAFKA_SSL_CERT_FILE',
      'KAFKA_SSL_KEY_FILE',
      'KAFKA_OAUTH_CLIENT_ID_FILE',
      'KAFKA_OAUTH_CLIENT_SECRET_FILE',
      'AUTH_HS256_SECRET_FILE',
      'PEER_SECRET_FILE',
    ]);
    expect(Object.fromEntries(refs.map((x) => [x.env, `${x.secretName}/${x.key}`]))).toEqual({
      KAFKA_SSL_CA_FILE: 'kafka-client-tls/ca.crt',
      KAFKA_SSL_CERT_FILE: 'kafka-client-tls/tls.crt',
      KAFKA_SSL_KEY_FILE: 'kafka-client-tls/tls.key',
      KAFKA_OAUTH_CLIENT_ID_FILE: 'kafka-oauth-client/client-id',
      KAFKA_OAUTH_CLIENT_SECRET_FILE: 'kafka-oauth-client/client-secret',
      AUTH_HS256_SECRET_FILE: 'gateway-jwt/hs256-secret',
      PEER_SECRET_FILE: 'gateway-peers/peer-secret',
    });
    expect(peersService(r).spec?.clusterIP).toBe('None');
    expect(data).toMatchObject({
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_OAUTH_TOKEN_URL: 'https://idp.example/oauth2/token',
    });
    // autoscaling off: fixed replicas, no HPA; PDB by minAvailable; the kubelet's sleep action for preStop
    expect(r.maybe('HorizontalPodAutoscaler')).toBeUndefined();
    expect(deploy.spec?.replicas).toBe(3);
    expect(r.one('PodDisruptionBudget').spec?.minAvailable).toBe(2);
    expect(c.lifecycle?.preStop?.sleep?.seconds).toBeGreaterThan(0);
  });

  it('refuses, at render time, settings the gateway would refuse at start-up', async () => {
    expect(await renderError('kafka.brokers=')).toContain('kafka.brokers is required');
    expect(await renderError('peers.enabled=true')).toContain('peers.enabled needs peers.secret');
    expect(await renderError('peers.enabled=true', 'peers.secret=short')).toContain('at least 32 bytes');
    expect(await renderError('config.PEER_SECRET=x'.padEnd(40, 'x'))).toContain('does not belong in the ConfigMap');
    expect(await renderError('kafka.sasl.mechanism=plain')).toContain('needs a username and a password');
    expect(await renderError('kafka.sasl.mechanism=gssapi')).toContain('kafka.sasl.mechanism');
    expect(await renderError('kafka.tls.cert=x')).toContain('cert and key go together');
    expect(await renderError('auth.jwksUrl=https://idp.example/jwks', 'auth.publicKey=x')).toContain(
      'exactly one key source',
    );
    // secrets belong in mounted files, never in the ConfigMap
    expect(await renderError('config.KAFKA_SASL_PASSWORD=x')).toContain('does not belong in the ConfigMap');
    expect(await renderError('config.AUTH_HS256_SECRET_FILE=/x')).toContain('does not belong in the ConfigMap');
    expect(await renderError('config.PORT=9000')).toContain('set by the chart');
    expect(await renderError('config.WORKERS=2')).toContain('set by the chart');
    for (const bad of ['0', '257', 'all', '1.5'])
      expect(await renderError(`workers=${bad}`)).toContain('workers: expected a whole number from 1 to 256 or auto');
  });

  it('workers: WORKERS in the ConfigMap (1 by default), a value the gateway accepts', async () => {
    const workersOf = async (...set: string[]) => {
      const args = ['template', 'gw', chart, '--show-only', 'templates/configmap.yaml'];
      for (const v of set) args.push('--set', v);
      const cm = parse((await helmRun(args)).stdout) as IConfigMap;
      return need(cm.data?.WORKERS, 'WORKERS in the ConfigMap');
    };
    expect(await workersOf()).toBe('1');
    expect(await workersOf('workers=4')).toBe('4');
    expect(await workersOf('workers=auto')).toBe('auto');
    expect(envSchema.shape.WORKERS.parse(await workersOf('workers=4'))).toBe(4);
  });
});

// ---- container image and Compose: static checks only (no Docker engine here to build or run them) ----

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  entrypoint?: string | string[];
  command?: string | string[];
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
}

interface Instruction {
  cmd: string;
  args: string;
}

/** Dockerfile → instructions (continuations joined, comments and parser directives dropped). */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let buf = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      continue;
    }
    buf += line;
    if (buf.trim()) logical.push(buf.trim());
    buf = '';
  }
  return logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    return { cmd: m[1]!.toUpperCase(), args: m[2]! };
  });
}

describe('deploy/docker (static checks: no Docker engine to build or run here)', () => {
  const dockerfile = readFileSync(path.join(root, 'deploy/docker/Dockerfile'), 'utf8');
  const all = parseDockerfile(dockerfile);
  const args = Object.fromEntries(all.filter((i) => i.cmd === 'ARG').map((i) => i.args.split('=') as [string, string]));
  const expand = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? '');
  // split into stages
  const stages: { base: string; name?: string; body: Instruction[] }[] = [];
  for (const i of all) {
    if (i.cmd === 'FROM') {
      const [base, as, name] = expand(i.args.replace(/--platform=\S+\s+/, '')).split(/\s+/);
      stages.push({ base: base!, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else stages.at(-1)?.body.push(i);
  }
  const final = stages.at(-1)!;
  const finalOf = (cmd: string) => final.body.filter((i) => i.cmd === cmd);

  it('Dockerfile (static): multi-stage on a Node 24 base image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.base).toMatch(/^(docker\.io\/)?(library\/)?node:24([.-]|$)/);
  });

  it('Dockerfile (static): the runtime stage gets production-only node_modules (npm ci --omit=dev) and the built dist/', () => {
    const prodStage = stages.find((s) => s.body.some((i) => i.cmd === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args)));
    expect(prodStage?.name, 'a named stage runs npm ci --omit=dev').toBeTruthy();
    const copies = finalOf('COPY');
    expect(copies.some((i) => i.args.includes(`--from=${prodStage!.name}`) && /node_modules/.test(i.args))).toBe(true);
    expect(copies.some((i) => /--from=\S+/.test(i.args) && /\/dist\b/.test(i.args))).toBe(true);
    // the runtime stage installs nothing itself and never runs a full (dev) npm ci / install
    expect(final.body.filter((i) => i.cmd === 'RUN' && /npm (ci|install|i)\b/.test(i.args))).toEqual([]);
    // the build stage compiles with the project's own script
    expect(stages.some((s) => s.body.some((i) => i.cmd === 'RUN' && /npm run build/.test(i.args)))).toBe(true);
  });

  it('Dockerfile (static): runs as a numeric non-root USER, with HEALTHCHECK, EXPOSE 8080 and node as PID 1', () => {
    const user = finalOf('USER').at(-1)?.args ?? '';
    const uid = user.split(':')[0]!;
    expect(uid, 'numeric, so Kubernetes runAsNonRoot can verify it').toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(finalOf('HEALTHCHECK')).toHaveLength(1);
    expect(finalOf('HEALTHCHECK')[0]!.args).toMatch(/CMD/);
    expect(finalOf('EXPOSE').map((i) => i.args)).toContain('8080');
    const cmd = finalOf('CMD').at(-1)?.args ?? '';
    // Exec form: SIGTERM reaches node directly; with the young-generation flag (src/young-generation.ts).
    expect(JSON.parse(cmd)).toEqual(['node', YOUNG_GENERATION_FLAG, 'dist/bundle/main.js']);
  });

  it('Dockerfile (static): every file copied from the build context exists and is allowed by .dockerignore', () => {
    const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0], 'allowlist: ignore everything, then re-include').toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = all
      .filter((i) => i.cmd === 'COPY' && !/--from=/.test(i.args))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      const rel = src.replace(/^\.\//, '').replace(/\/$/, '');
      expect(allowed, `.dockerignore re-includes ${rel}`).toContain(rel);
      if (rel !== 'src') expect(existsSync(path.join(root, rel)), `${rel} exists`).toBe(true);
    }
  });

  it('compose.yaml (static): KRaft apache/kafka:4.1.1, auto-create off, init creates test-topic1 ×3, gateway waits for it', () => {
    const compose = parse(readFileSync(path.join(root, 'deploy/docker/compose.yaml'), 'utf8')) as {
      services: Record<string, ComposeService>;
    };
    const kafka = need(compose.services.kafka, 'service kafka');
    const init = need(compose.services['kafka-init'], 'service kafka-init');
    const gateway = need(compose.services.gateway, 'service gateway');
    const kafkaEnv = need(kafka.environment, 'kafka environment');
    const gatewayEnv = need(gateway.environment, 'gateway environment');
    expect(kafka.image).toBe('apache/kafka:4.1.1');
    expect(kafkaEnv.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(String(kafkaEnv.KAFKA_AUTO_CREATE_TOPICS_ENABLE)).toBe('false');
    expect(String(kafkaEnv.KAFKA_LISTENERS)).toMatch(/PLAINTEXT:\/\/:9092/);
    expect(kafka.healthcheck?.test.join(' ')).toContain('localhost:9092');

    expect(init.image).toBe(kafka.image);
    const initCmd = [init.entrypoint ?? [], init.command ?? []].flat().map(String);
    expect(initCmd[0]).toMatch(/kafka-topics\.sh$/);
    const flag = (f: string) => initCmd[initCmd.indexOf(f) + 1];
    expect(initCmd).toContain('--create');
    expect(flag('--topic')).toBe('test-topic1');
    expect(flag('--partitions')).toBe('3');
    expect(flag('--bootstrap-server')).toBe('kafka:9092');
    expect(init.depends_on?.kafka?.condition).toBe('service_healthy');

    expect(gateway.depends_on?.['kafka-init']?.condition).toBe('service_completed_successfully');
    expect(gatewayEnv.KAFKA_BROKERS).toBe('kafka:9092');
    expect(String(kafkaEnv.KAFKA_ADVERTISED_LISTENERS)).toContain(`PLAINTEXT://${gatewayEnv.KAFKA_BROKERS}`);
    expect(gateway.build?.dockerfile).toBe('deploy/docker/Dockerfile');
    expect(path.resolve(root, 'deploy/docker', need(gateway.build, 'build').context)).toBe(root);
    expect(gateway.ports).toContain('8080:8080');
    for (const name of Object.keys(gatewayEnv)) expect(knownSettings.has(name), name).toBe(true);
  });

  it('README (static): documents build, run and a curl one-liner that produces to test-topic1', () => {
    const readme = readFileSync(path.join(root, 'deploy/docker/README.md'), 'utf8');
    expect(readme).toContain('docker build -f deploy/docker/Dockerfile');
    expect(readme).toContain('docker compose -f deploy/docker/compose.yaml up');
    expect(readme).toMatch(/curl [^\n]*\/topics\/test-topic1[^\n]*application\/vnd\.kafka\.json\.v2\+json/);
  });
});
