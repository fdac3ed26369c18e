#!/usr/bin/env node
// A real Apache Kafka (KRaft) launcher from the Maven jars in ./libs — no Docker, no mocks.
// Used by `npm run dev`, the vitest global setup, and the security/failure tests.
// Plain JavaScript ESM with JSDoc types (see kafka.d.mts) so it runs without a build step.
//
//   node deploy/local-kafka/kafka.mjs start [--nodes 3] [--listeners PLAINTEXT,SSL,...] [--dir .kafka-dev]
//                                           [--fixed-ports] [--persist] [--heap-mb N]
//   node deploy/local-kafka/kafka.mjs jars        (fetch the jars only)
//   node deploy/local-kafka/kafka.mjs cleanup [baseDir]
import { execFile, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {'PLAINTEXT'|'SSL'|'SASL_PLAINTEXT'|'SASL_SSL'|'OAUTHBEARER'} ListenerName */
/** @typedef {ListenerName|'CONTROLLER'} PortName */
/** @typedef {(msg: string) => void} LogFn */

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const LIBS_DIR = path.join(HERE, 'libs');
export const POM_FILE = path.join(HERE, 'pom.xml');
const MARKER = path.join(LIBS_DIR, '.complete');
const LOCK_FILE = path.join(HERE, '.libs.lock');
const TMP_PREFIX = 'local-kafka-';
const STARTED_LINE = 'Kafka Server started';
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

/** @type {readonly ListenerName[]} */
export const LISTENERS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL', 'OAUTHBEARER'];

/** Dev-mode ports (docs/local-kafka.md). With 3 nodes, node N uses N*10000 + port (19092, 29092, 39092...). */
export const DEV_PORTS = Object.freeze({
  PLAINTEXT: 9092,
  CONTROLLER: 9093,
  SASL_PLAINTEXT: 9094,
  SSL: 9095,
  SASL_SSL: 9096,
  OAUTHBEARER: 9097,
});

/** Security protocol behind each listener name. */
const PROTOCOL = Object.freeze({
  CONTROLLER: 'PLAINTEXT',
  PLAINTEXT: 'PLAINTEXT',
  SSL: 'SSL',
  SASL_PLAINTEXT: 'SASL_PLAINTEXT',
  SASL_SSL: 'SASL_SSL',
  OAUTHBEARER: 'SASL_PLAINTEXT',
});

/** Fixed test users. PLAIN users live in the listener JAAS config; SCRAM users are added at format time. */
export const USERS = Object.freeze({
  plain: Object.freeze({ username: 'alice', password: 'alice-secret' }),
  admin: Object.freeze({ username: 'admin', password: 'admin-secret' }),
  scram: Object.freeze({ username: 'alice', password: 'alice-secret' }),
});
const CLIENT_KEY_PASSWORD = 'client-key-secret';

const defaultLog = /** @type {LogFn} */ ((msg) => process.stderr.write(`[local-kafka] ${msg}\n`));
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
/** A timer that does not keep the process alive (for races against a child's exit). */
const idle = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms).unref());

// ---------------------------------------------------------------------------------------------------------------
// Jars

/** sha256 of the pom: the marker records which pom the libs were fetched for. */
function pomHash() {
  return crypto.createHash('sha256').update(fs.readFileSync(POM_FILE)).digest('hex');
}

function jarsComplete() {
  try {
    return (
      fs.readFileSync(MARKER, 'utf8').trim() === pomHash() &&
      fs.readdirSync(LIBS_DIR).some((f) => /^kafka_2\.13-.*\.jar$/.test(f))
    );
  } catch {
    return false;
  }
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return /** @type {NodeJS.ErrnoException} */ (e).code === 'EPERM';
  }
}

/**
 * Makes sure deploy/local-kafka/libs holds the jars for the current pom.xml (runs `mvn -B -ntp package` when the
 * libs/.complete marker is missing or records another pom). Safe to call from several processes at once.
 * @param {{ log?: LogFn }} [opts]
 * @returns {Promise<{ libsDir: string, fetched: boolean, ms: number }>}
 */
export async function ensureJars(opts = {}) {
  const log = opts.log ?? defaultLog;
  const t0 = Date.now();
  if (jarsComplete()) return { libsDir: LIBS_DIR, fetched: false, ms: 0 };
  await withLock(log, async () => {
    if (jarsComplete()) return;
    const hash = pomHash();
    // A changed pom may drop or replace jars: start from an empty folder so no stale jar stays on the classpath.
    await fsp.rm(LIBS_DIR, { recursive: true, force: true });
    log('fetching Kafka jars with Maven (first run only; later runs reuse ./libs and ~/.m2)...');
    await runMaven(log);
    if (!fs.readdirSync(LIBS_DIR).some((f) => /^kafka_2\.13-.*\.jar$/.test(f))) {
      throw new Error(`mvn succeeded but ${LIBS_DIR} holds no kafka_2.13 jar`);
    }
    fs.writeFileSync(MARKER, `${hash}\n`);
    log(`Kafka jars ready in ${Math.round((Date.now() - t0) / 100) / 10} s`);
  });
  return { libsDir: LIBS_DIR, fetched: true, ms: Date.now() - t0 };
}

/**
 * @param {LogFn} log
 * @param {() => Promise<void>} fn
 */
async function withLock(log, fn) {
  const t0 = Date.now();
  let lastSay = t0;
  for (;;) {
    try {
      const fd = fs.openSync(LOCK_FILE, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EEXIST') throw e;
      const holder = Number.parseInt(fs.readFileSync(LOCK_FILE, 'utf8') || '0', 10);
      if (!holder || !alive(holder)) {
        fs.rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() - t0 > 15 * 60_000) throw new Error(`timed out waiting for ${LOCK_FILE} (held by pid ${holder})`);
      if (Date.now() - lastSay > 10_000) {
        lastSay = Date.now();
        log(
          `waiting for another process (pid ${holder}) fetching the Kafka jars... ${Math.round((Date.now() - t0) / 1000)} s`,
        );
      }
      await sleep(500);
    }
  }
  try {
    await fn();
  } finally {
    fs.rmSync(LOCK_FILE, { force: true });
  }
}

/** @param {LogFn} log */
function runMaven(log) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    /** @type {string[]} */
    const tail = [];
    let child;
    try {
      child = spawn('mvn', ['-B', '-ntp', 'package'], { cwd: HERE, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      reject(e);
      return;
    }
    const ticker = setInterval(
      () => log(`still fetching Kafka jars... ${Math.round((Date.now() - t0) / 1000)} s`),
      10_000,
    );
    let buf = '';
    const onData = (/** @type {Buffer} */ chunk) => {
      buf += chunk.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf
          .slice(0, i)
          .replace(/\x1b\[[0-9;]*m/g, '')
          .trimEnd();
        buf = buf.slice(i + 1);
        tail.push(line);
        if (tail.length > 80) tail.shift();
        // Maven's own progress, minus the per-jar copy chatter.
        if (/Building |BUILD|ERROR|Downloading from|Total time/.test(line))
          log(`mvn: ${line.replace(/^\[INFO\] /, '')}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(
        /** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT'
          ? new Error('`mvn` is not on PATH: install Maven (and Java 17+) to fetch the Kafka jars')
          : err,
      );
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve(undefined);
      else reject(new Error(`mvn -B -ntp package failed (exit ${code}) in ${HERE}:\n${tail.join('\n')}`));
    });
  });
}

/** The java classpath for the broker and Kafka's tools (a wildcard: java expands it). */
export function classpath() {
  return path.join(LIBS_DIR, '*');
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {import('node:child_process').ExecFileOptions} [options]
 * @returns {Promise<string>}
 */
function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024, ...options }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`.trim()));
      } else resolve(String(stdout));
    });
  });
}

/** Picks `count` distinct free ports on 127.0.0.1 by listening on port 0 (all held open at once). */
async function freePorts(/** @type {number} */ count) {
  /** @type {net.Server[]} */
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(undefined));
      });
      servers.push(srv);
    }
    return servers.map((s) => /** @type {net.AddressInfo} */ (s.address()).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/** @param {number} port */
function portInUse(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
  });
}

/** Last `n` lines of a file (reads at most the last 64 KiB). */
function tailFile(/** @type {string} */ file, n = 40) {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const b = Buffer.alloc(len);
      fs.readSync(fd, b, 0, len, size - len);
      return b.toString('utf8').split('\n').filter(Boolean).slice(-n).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Kafka-style random Uuid: 16 random bytes, base64url without padding, never starting with '-'. */
export function randomClusterId() {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Java .properties escaping for values we write (backslashes only: we never write newlines). */
function propsText(/** @type {Record<string, string|number|boolean>} */ props) {
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${String(v).replace(/\\/g, '\\\\')}`)
    .join('\n')}\n`;
}

let setprivAvailable = /** @type {boolean|undefined} */ (undefined);
function hasSetpriv() {
  if (setprivAvailable === undefined) {
    setprivAvailable =
      process.platform === 'linux' && spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  }
  return setprivAvailable;
}

/** @param {number} pid */
function procStartTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null; // field 22: starttime
  } catch {
    return null;
  }
}

// Every java process we started and have not seen exit: killed if this Node process exits without stop().
/** @type {Set<import('node:child_process').ChildProcess>} */
const liveChildren = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// pid files and stale cleanup

/**
 * @typedef {{ owner: number, ownerStart: string|null, dir: string, created: boolean, nodes: Record<string, number> }} PidFile
 */

/** @param {string} dir @param {PidFile} data */
function writePidFile(dir, data) {
  const file = path.join(dir, 'pids');
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(data)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** @param {string} pid @param {string} dir */
function isOurKafka(pid, dir) {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(dir);
  } catch {
    return false;
  }
}

/**
 * Kills brokers left behind by crashed runs: reads `pids` files in baseDir and its direct subfolders, and for each
 * whose owner process is gone, SIGKILLs the recorded pids whose command line still contains `kafka.Kafka` and that
 * folder. Folders we created under the temp dir (local-kafka-*) are then removed. Never touches live owners' brokers.
 * @param {string} [baseDir] default os.tmpdir()
 * @param {{ log?: LogFn }} [opts]
 * @returns {Promise<{ killed: number[], removed: string[] }>}
 */
export async function cleanupStale(baseDir = os.tmpdir(), opts = {}) {
  const log = opts.log ?? defaultLog;
  /** @type {number[]} */
  const killed = [];
  /** @type {string[]} */
  const removed = [];
  const base = path.resolve(baseDir);
  /** @type {string[]} */
  const candidates = [base];
  try {
    for (const ent of fs.readdirSync(base, { withFileTypes: true })) {
      if (ent.isDirectory()) candidates.push(path.join(base, ent.name));
    }
  } catch {
    return { killed, removed };
  }
  for (const dir of candidates) {
    const file = path.join(dir, 'pids');
    /** @type {PidFile} */
    let data;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const ownerAlive = alive(data.owner) && (data.ownerStart == null || procStartTime(data.owner) === data.ownerStart);
    if (ownerAlive) continue;
    /** @type {number[]} */
    const mine = [];
    for (const pid of Object.values(data.nodes ?? {})) {
      if (isOurKafka(String(pid), dir)) {
        try {
          process.kill(pid, 'SIGKILL');
          mine.push(pid);
        } catch {
          /* already gone */
        }
      }
    }
    for (let i = 0; i < 50 && mine.some((p) => fs.existsSync(`/proc/${p}`) && isOurKafka(String(p), dir)); i++)
      await sleep(100);
    killed.push(...mine);
    if (mine.length) log(`killed stale broker pid(s) ${mine.join(', ')} from ${dir}`);
    if (data.created && path.dirname(dir) === path.resolve(os.tmpdir()) && path.basename(dir).startsWith(TMP_PREFIX)) {
      await fsp.rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } else {
      fs.rmSync(file, { force: true });
    }
  }
  return { killed, removed };
}

// ---------------------------------------------------------------------------------------------------------------
// TLS material

/**
 * Generates a CA, a broker cert (SAN DNS:localhost, IP:127.0.0.1) and a client cert (CN=alice) with openssl, all
 * EC P-256, in PEM. Returns the file names.
 * @param {string} sslDir
 */
async function generateTls(sslDir) {
  await fsp.mkdir(sslDir, { recursive: true });
  const f = (/** @type {string} */ n) => path.join(sslDir, n);
  const days = '30';
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    days,
    '-subj',
    '/CN=local-kafka test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  /** @param {string} name @param {string} subj @param {string} ext */
  const leaf = async (name, subj, ext) => {
    fs.writeFileSync(f(`${name}.ext`), ext);
    await run('openssl', ['req', '-new', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subj]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-set_serial',
      `0x${crypto.randomBytes(8).toString('hex')}`,
      '-days',
      days,
      '-sha256',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`),
    ]);
  };
  await Promise.all([
    leaf(
      'broker',
      '/CN=localhost',
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' +
        'subjectAltName=DNS:localhost,IP:127.0.0.1\n',
    ),
    leaf(
      'client',
      '/CN=alice',
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    ),
  ]);
  await run('openssl', [
    'pkcs8',
    '-topk8',
    '-in',
    f('client.key'),
    '-out',
    f('client.enc.key'),
    '-v2',
    'aes-256-cbc',
    '-passout',
    `pass:${CLIENT_KEY_PASSWORD}`,
  ]);
  // Kafka's PEM keystore: PKCS#8 key + certificate chain in one file, no keystore password.
  fs.writeFileSync(
    f('broker-keystore.pem'),
    fs.readFileSync(f('broker.key'), 'utf8') +
      fs.readFileSync(f('broker.pem'), 'utf8') +
      fs.readFileSync(f('ca.pem'), 'utf8'),
  );
  for (const n of ['broker.csr', 'client.csr', 'broker.ext', 'client.ext']) fs.rmSync(f(n), { force: true });
  return {
    caFile: f('ca.pem'),
    certFile: f('client.pem'),
    keyFile: f('client.key'),
    encryptedKeyFile: f('client.enc.key'),
    keyPassword: CLIENT_KEY_PASSWORD,
    brokerKeystore: f('broker-keystore.pem'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Caches in libs/.cache (removed with libs when the pom changes)

const CACHE_DIR = path.join(LIBS_DIR, '.cache');

/** Takes a lock file holding our pid; a lock whose holder is dead is taken over. */
function tryLockFile(/** @type {string} */ file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let i = 0; i < 2; i++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      const holder = Number.parseInt(fs.readFileSync(file, 'utf8') || '0', 10);
      if (holder && alive(holder)) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

/** @type {Promise<string> | null} */
let cdsPathPromise = null;
/** Path of the JVM's dynamic class-data archive for this java build and jar set (AppCDS: ~2x faster JVM start). */
function cdsArchivePath() {
  cdsPathPromise ??= new Promise((resolve) => {
    execFile('java', ['-version'], (_err, stdout, stderr) => {
      // The JVM checks each jar's size and mtime (and the wildcard's expansion order) against the archive.
      const jars = fs
        .readdirSync(LIBS_DIR)
        .filter((f) => f.endsWith('.jar'))
        .map((f) => {
          const st = fs.statSync(path.join(LIBS_DIR, f));
          return `${f}:${st.size}:${st.mtimeMs}`;
        })
        .join(',');
      const key = crypto.createHash('sha256').update(`${stdout}${stderr}|${jars}`).digest('hex').slice(0, 16);
      resolve(path.join(CACHE_DIR, `kafka-${key}.jsa`));
    });
  });
  return cdsPathPromise;
}

/**
 * Formats every node's data folder with one cluster id. `StorageTool format` writes meta.properties (cluster id,
 * node id, directory id) and bootstrap.checkpoint (feature levels + SCRAM users, nothing node- or cluster-specific).
 * The first run keeps that checkpoint in libs/.cache; later runs copy it and write meta.properties directly, which
 * saves a JVM start (1–3 s) per node. formatCache=false always runs the real tool.
 * @param {NodeState[]} nodes @param {string} clusterId @param {string} dir @param {boolean} useCache
 */
async function formatNodes(nodes, clusterId, dir, useCache) {
  const key = crypto
    .createHash('sha256')
    .update(`${pomHash()}|${JSON.stringify(USERS)}|v1`)
    .digest('hex')
    .slice(0, 16);
  const template = path.join(CACHE_DIR, `bootstrap-${key}.checkpoint`);
  if (useCache && fs.existsSync(template)) {
    for (const n of nodes) {
      await fsp.mkdir(n.dataDir, { recursive: true });
      await fsp.copyFile(template, path.join(n.dataDir, 'bootstrap.checkpoint'));
      const meta = `#\n#${new Date().toUTCString()}\nnode.id=${n.id}\ndirectory.id=${randomClusterId()}\nversion=1\ncluster.id=${clusterId}\n`;
      await fsp.writeFile(path.join(n.dataDir, 'meta.properties'), meta);
    }
    return;
  }
  const scram = [USERS.scram, USERS.admin].flatMap((u) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
      '--add-scram',
      `${m}=[name=${u.username},password=${u.password}]`,
    ]),
  );
  const quietLog4j = path.join(dir, 'log4j2-tools.properties');
  fs.writeFileSync(
    quietLog4j,
    'status = error\nappender.c.type = Console\nappender.c.name = C\nappender.c.layout.type = PatternLayout\n' +
      'appender.c.layout.pattern = %p %m%n\nrootLogger.level = WARN\nrootLogger.appenderRef.c.ref = C\n',
  );
  await Promise.all(
    nodes.map((n) =>
      run('java', [
        '-Xms64m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Xshare:auto',
        `-Dlog4j2.configurationFile=${quietLog4j}`,
        '-cp',
        classpath(),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        n.propsFile,
        ...scram,
      ]),
    ),
  );
  const first = nodes[0];
  if (useCache && first) {
    await fsp.mkdir(CACHE_DIR, { recursive: true });
    const tmp = `${template}.${process.pid}.tmp`;
    await fsp.copyFile(path.join(first.dataDir, 'bootstrap.checkpoint'), tmp);
    await fsp.rename(tmp, template);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration

/**
 * @typedef {{
 *   id: number, dir: string, dataDir: string, propsFile: string, log4jFile: string, logFile: string, stdoutFile: string,
 *   ports: Partial<Record<PortName, number>>,
 *   proc: import('node:child_process').ChildProcess | null, pid: number | null,
 *   exited: { code: number|null, signal: NodeJS.Signals|null } | null,
 *   exitPromise: Promise<void> | null,
 * }} NodeState
 */

/**
 * @param {object} p
 * @param {NodeState} p.node
 * @param {NodeState[]} p.all
 * @param {ListenerName[]} p.listeners
 * @param {ReturnType<typeof generateTls> extends Promise<infer T> ? T | null : never} p.tls
 * @param {{ jwksUrl: string, issuer?: string, audience?: string } | undefined} p.oauth
 * @param {Record<string, string|number|boolean>} p.extra
 */
function serverProperties({ node, all, listeners, tls, oauth, extra }) {
  const three = all.length > 1;
  const names = /** @type {PortName[]} */ ([...listeners, 'CONTROLLER']);
  /** @type {Record<string, string|number|boolean>} */
  const p = {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    'controller.quorum.voters': all.map((n) => `${n.id}@127.0.0.1:${n.ports.CONTROLLER}`).join(','),
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    listeners: names.map((l) => `${l}://127.0.0.1:${node.ports[l]}`).join(','),
    'advertised.listeners': listeners.map((l) => `${l}://127.0.0.1:${node.ports[l]}`).join(','),
    'listener.security.protocol.map': names.map((l) => `${l}:${PROTOCOL[l]}`).join(','),
    'log.dirs': node.dataDir,
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    'default.replication.factor': three ? 3 : 1,
    'min.insync.replicas': three ? 2 : 1,
    'offsets.topic.replication.factor': three ? 3 : 1,
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.replication.factor': three ? 3 : 1,
    'transaction.state.log.min.isr': three ? 2 : 1,
    'transaction.state.log.num.partitions': 3,
    'share.coordinator.state.topic.replication.factor': three ? 3 : 1,
    'share.coordinator.state.topic.min.isr': three ? 2 : 1,
    'group.initial.rebalance.delay.ms': 0,
    // Small, quick brokers: fewer threads, no long waits.
    'num.network.threads': 2,
    'num.io.threads': 4,
    'num.recovery.threads.per.data.dir': 1,
    'background.threads': 4,
    'log.cleaner.threads': 1,
    'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
    'controlled.shutdown.enable': true,
    'delete.topic.enable': true,
  };
  if (three) {
    Object.assign(p, {
      'broker.heartbeat.interval.ms': 500,
      'broker.session.timeout.ms': 3000,
      'replica.lag.time.max.ms': 10000,
      'unclean.leader.election.enable': false,
    });
  }
  if (tls) {
    Object.assign(p, {
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': tls.brokerKeystore,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': tls.caFile,
      // mTLS on the SSL listener only; SASL_SSL authenticates with SASL.
      'listener.name.ssl.ssl.client.auth': 'required',
      // Client cert CN=alice → principal User:alice (same name as the SASL user).
      'ssl.principal.mapping.rules': 'RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT',
    });
  }
  /** @type {string[]} */
  const mechanisms = [];
  for (const l of listeners) {
    if (l !== 'SASL_PLAINTEXT' && l !== 'SASL_SSL') continue;
    const ln = l.toLowerCase();
    const users = [USERS.plain, USERS.admin].map((u) => `user_${u.username}="${u.password}"`).join(' ');
    Object.assign(p, {
      [`listener.name.${ln}.sasl.enabled.mechanisms`]: 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      [`listener.name.${ln}.plain.sasl.jaas.config`]: `org.apache.kafka.common.security.plain.PlainLoginModule required username="${USERS.admin.username}" password="${USERS.admin.password}" ${users};`,
      [`listener.name.${ln}.scram-sha-256.sasl.jaas.config`]:
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      [`listener.name.${ln}.scram-sha-512.sasl.jaas.config`]:
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    });
    mechanisms.push('PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512');
  }
  if (listeners.includes('OAUTHBEARER') && oauth) {
    Object.assign(p, {
      'listener.name.oauthbearer.sasl.enabled.mechanisms': 'OAUTHBEARER',
      'listener.name.oauthbearer.oauthbearer.sasl.jaas.config':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
      'listener.name.oauthbearer.oauthbearer.sasl.server.callback.handler.class':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler',
      'sasl.oauthbearer.jwks.endpoint.url': oauth.jwksUrl,
      // Kafka 4.1's default (DefaultJwtValidator built without a key resolver) falls back to ClientJwtValidator, which
      // checks claims but NOT the signature, issuer or audience. Name the broker validator explicitly.
      'sasl.oauthbearer.jwt.validator.class': 'org.apache.kafka.common.security.oauthbearer.BrokerJwtValidator',
    });
    if (oauth.issuer) p['sasl.oauthbearer.expected.issuer'] = oauth.issuer;
    if (oauth.audience) p['sasl.oauthbearer.expected.audience'] = oauth.audience;
    mechanisms.push('OAUTHBEARER');
  }
  if (mechanisms.length) p['sasl.enabled.mechanisms'] = [...new Set(mechanisms)].join(',');
  return { ...p, ...extra };
}

/** Log4j2 config: a file in the node's folder, WARN everywhere, INFO for the "Kafka Server started" logger. */
function log4jProperties(/** @type {string} */ logFile, /** @type {Record<string,string>} */ levels = {}) {
  const lines = [
    'status = error',
    'name = local-kafka',
    'appender.file.type = File',
    'appender.file.name = FILE',
    `appender.file.fileName = ${logFile}`,
    'appender.file.append = true',
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d{ISO8601}] %p %m (%c)%n',
    'rootLogger.level = WARN',
    'rootLogger.appenderRef.file.ref = FILE',
    'logger.started.name = kafka.server.KafkaRaftServer',
    'logger.started.level = INFO',
  ];
  let i = 0;
  for (const [name, level] of Object.entries(levels)) {
    lines.push(`logger.extra${i}.name = ${name}`, `logger.extra${i}.level = ${level}`);
    i++;
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// Start

/**
 * @typedef {{
 *   dir?: string, nodes?: 1|3, listeners?: ListenerName[],
 *   ports?: 'free' | 'fixed' | Partial<Record<PortName, number>>,
 *   oauth?: { jwksUrl: string, issuer?: string, audience?: string },
 *   heapMb?: number, log?: LogFn, brokerProps?: Record<string, string|number|boolean>,
 *   jvmOpts?: string[], logLevels?: Record<string, string>, keepDir?: boolean, persist?: boolean,
 *   dieWithParent?: boolean, readyTimeoutMs?: number, cds?: boolean, formatCache?: boolean,
 * }} StartOptions
 */

class PortConflictError extends Error {}

/**
 * Starts a real Kafka broker (1 node) or a 3-node KRaft cluster and waits until it serves clients.
 * @param {StartOptions} [opts]
 */
export async function startKafka(opts = {}) {
  const log = opts.log ?? defaultLog;
  const nodeCount = opts.nodes ?? 1;
  if (nodeCount !== 1 && nodeCount !== 3) throw new Error(`nodes must be 1 or 3, got ${nodeCount}`);
  const asked = (opts.listeners ?? ['PLAINTEXT']).map(
    (l) => /** @type {ListenerName} */ (String(l).trim().toUpperCase()),
  );
  for (const l of asked)
    if (!LISTENERS.includes(l)) throw new Error(`unknown listener ${l} (known: ${LISTENERS.join(', ')})`);
  /** @type {ListenerName[]} */
  const listeners = LISTENERS.filter((l) => l === 'PLAINTEXT' || asked.includes(l));
  if (listeners.includes('OAUTHBEARER') && !opts.oauth?.jwksUrl)
    throw new Error('the OAUTHBEARER listener needs opts.oauth.jwksUrl');
  await ensureJars({ log });
  installExitHook();

  const t0 = Date.now();
  const created = !opts.dir;
  const dir = opts.dir ? path.resolve(opts.dir) : await fsp.mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await fsp.mkdir(dir, { recursive: true });
  const keepDir = opts.keepDir ?? !created;
  /** @type {PidFile} */
  const pidData = { owner: process.pid, ownerStart: procStartTime(process.pid), dir, created, nodes: {} };
  writePidFile(dir, pidData);

  const portsMode = opts.ports ?? 'free';
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce({ opts, log, dir, created, keepDir, listeners, nodeCount, portsMode, pidData, t0 });
    } catch (err) {
      if (err instanceof PortConflictError && portsMode === 'free' && attempt < 3) {
        log(`a port was taken between picking and binding; retrying with new ports (${err.message})`);
        continue;
      }
      if (!keepDir) await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
      else fs.rmSync(path.join(dir, 'pids'), { force: true });
      throw err;
    }
  }
}

/**
 * @param {object} a
 * @param {StartOptions} a.opts
 * @param {LogFn} a.log
 * @param {string} a.dir
 * @param {boolean} a.created
 * @param {boolean} a.keepDir
 * @param {ListenerName[]} a.listeners
 * @param {number} a.nodeCount
 * @param {NonNullable<StartOptions['ports']>} a.portsMode
 * @param {PidFile} a.pidData
 * @param {number} a.t0
 */
async function startOnce({ opts, log, dir, keepDir, listeners, nodeCount, portsMode, pidData, t0 }) {
  const portNames = /** @type {PortName[]} */ ([...listeners, 'CONTROLLER']);
  // Ports
  /** @type {Partial<Record<PortName, number>>[]} */
  const nodePorts = [];
  if (portsMode === 'free') {
    const ports = await freePorts(portNames.length * nodeCount);
    for (let n = 0; n < nodeCount; n++) {
      nodePorts.push(Object.fromEntries(portNames.map((l, i) => [l, ports[n * portNames.length + i]])));
    }
  } else {
    const base = portsMode === 'fixed' ? DEV_PORTS : { ...DEV_PORTS, ...portsMode };
    for (let n = 1; n <= nodeCount; n++) {
      nodePorts.push(Object.fromEntries(portNames.map((l) => [l, (nodeCount > 1 ? n * 10000 : 0) + base[l]])));
    }
    const busy = [];
    for (const ports of nodePorts)
      for (const [l, p] of Object.entries(ports))
        if (await portInUse(/** @type {number} */ (p))) busy.push(`${l} ${p}`);
    if (busy.length) {
      throw new Error(
        `fixed port(s) already in use: ${busy.join(', ')} — is another dev broker running? (pgrep -af kafka.Kafka)`,
      );
    }
  }

  // Persisted cluster (dev): reuse its id and data when asked and present.
  const stateFile = path.join(dir, 'cluster.json');
  let clusterId = randomClusterId();
  let reuse = false;
  if (opts.persist) {
    try {
      const st = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
      if (st.nodes === nodeCount && fs.existsSync(path.join(dir, 'node-1', 'data', 'meta.properties'))) {
        clusterId = st.clusterId;
        reuse = true;
      }
    } catch {
      /* fresh */
    }
  }

  /** @type {NodeState[]} */
  const nodes = nodePorts.map((ports, i) => {
    const id = i + 1;
    const nodeDir = path.join(dir, `node-${id}`);
    return {
      id,
      dir: nodeDir,
      dataDir: path.join(nodeDir, 'data'),
      propsFile: path.join(nodeDir, 'server.properties'),
      log4jFile: path.join(nodeDir, 'log4j2.properties'),
      logFile: path.join(nodeDir, 'server.log'),
      stdoutFile: path.join(nodeDir, 'stdout.log'),
      ports,
      proc: null,
      pid: null,
      exited: null,
      exitPromise: null,
    };
  });
  if (!reuse) {
    // Only our own subfolders: never wipe a user-given folder wholesale.
    for (const n of nodes) await fsp.rm(n.dir, { recursive: true, force: true });
  }
  for (const n of nodes) await fsp.mkdir(n.dir, { recursive: true });

  const needTls = listeners.includes('SSL') || listeners.includes('SASL_SSL');
  const sslDir = path.join(dir, 'ssl');
  const tls = needTls ? await generateTls(sslDir) : null;

  const heapMb = opts.heapMb ?? (nodeCount === 1 ? 512 : 384);
  const jvm = [
    '-Xms128m',
    `-Xmx${heapMb}m`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:+ExitOnOutOfMemoryError',
    '-Xshare:auto',
    '-Djava.awt.headless=true',
    '-Dlog4j2.disable.jmx=true',
  ];
  if (opts.oauth?.jwksUrl) jvm.push(`-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${opts.oauth.jwksUrl}`);
  const cds = opts.cds ?? process.env.LOCAL_KAFKA_CDS !== '0';
  /** @type {{ archive: string, tmp: string, lock: string } | null} */
  let cdsCreate = null;
  let cdsArchive = /** @type {string|null} */ (null);
  if (cds) {
    cdsArchive = await cdsArchivePath();
    if (!fs.existsSync(cdsArchive) && tryLockFile(`${cdsArchive}.lock`)) {
      cdsCreate = { archive: cdsArchive, tmp: `${cdsArchive}.${process.pid}.tmp`, lock: `${cdsArchive}.lock` };
    }
  }
  /** JVM flags for one node: the class-data archive when present, or node 1 records it (written at its exit). */
  const jvmFor = (/** @type {NodeState} */ node) => {
    if (cdsCreate && node.id === 1)
      return [...jvm, `-XX:ArchiveClassesAtExit=${cdsCreate.tmp}`, ...(opts.jvmOpts ?? [])];
    if (cdsArchive && fs.existsSync(cdsArchive))
      return [...jvm, `-XX:SharedArchiveFile=${cdsArchive}`, ...(opts.jvmOpts ?? [])];
    return [...jvm, ...(opts.jvmOpts ?? [])];
  };
  /** Called when a node exits: keeps the archive node 1 just wrote (once). */
  const cdsOnExit = (/** @type {NodeState} */ node) => {
    if (!cdsCreate || node.id !== 1) return;
    const c = cdsCreate;
    cdsCreate = null;
    try {
      if (fs.statSync(c.tmp).size > 1024 * 1024) {
        fs.renameSync(c.tmp, c.archive);
        // Archives for other jar sets or java builds are dead weight (50 MB each); a JVM using one keeps its mapping.
        for (const f of fs.readdirSync(CACHE_DIR)) {
          if (/^kafka-[0-9a-f]+\.jsa$/.test(f) && path.join(CACHE_DIR, f) !== c.archive)
            fs.rmSync(path.join(CACHE_DIR, f), { force: true });
        }
      }
    } catch {
      /* not written (killed) */
    }
    fs.rmSync(c.tmp, { force: true });
    fs.rmSync(c.lock, { force: true });
  };

  for (const node of nodes) {
    const props = serverProperties({
      node,
      all: nodes,
      listeners,
      tls,
      oauth: opts.oauth,
      extra: opts.brokerProps ?? {},
    });
    fs.writeFileSync(node.propsFile, propsText(props));
    fs.writeFileSync(node.log4jFile, log4jProperties(node.logFile, opts.logLevels));
  }

  // Format (all nodes with one cluster id; SCRAM users added here, kafkajs cannot create them).
  const tFormat = Date.now();
  if (!reuse) {
    await formatNodes(nodes, clusterId, dir, opts.formatCache ?? process.env.LOCAL_KAFKA_FORMAT_CACHE !== '0');
    fs.writeFileSync(stateFile, `${JSON.stringify({ clusterId, nodes: nodeCount, listeners })}\n`);
  }
  const formatMs = Date.now() - tFormat;

  const dieWithParent = opts.dieWithParent ?? true;
  /** @param {NodeState} node */
  const spawnNode = (node) => {
    const out = fs.openSync(node.stdoutFile, 'a');
    const javaArgs = [
      ...jvmFor(node),
      `-Dlog4j2.configurationFile=${node.log4jFile}`,
      '-cp',
      classpath(),
      'kafka.Kafka',
      node.propsFile,
    ];
    // setpriv --pdeathsig: the kernel kills the broker if this Node process dies without stopping it.
    const [cmd, args] =
      dieWithParent && hasSetpriv()
        ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', 'java', ...javaArgs]]
        : ['java', javaArgs];
    const proc = spawn(cmd, args, { cwd: node.dir, stdio: ['ignore', out, out], detached: false });
    fs.closeSync(out);
    node.proc = proc;
    node.pid = proc.pid ?? null;
    node.exited = null;
    liveChildren.add(proc);
    node.exitPromise = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        node.exited = { code, signal };
        liveChildren.delete(proc);
        cdsOnExit(node);
        resolve();
      });
      proc.once('error', (err) => {
        node.exited = { code: -1, signal: null };
        fs.appendFileSync(node.stdoutFile, `spawn error: ${err.message}\n`);
        liveChildren.delete(proc);
        resolve();
      });
    });
    if (node.pid) pidData.nodes[String(node.id)] = node.pid;
    writePidFile(dir, pidData);
  };

  /** @param {NodeState} node @param {number} fromOffset @param {number} deadline */
  const waitStarted = async (node, fromOffset, deadline) => {
    let offset = fromOffset;
    let text = '';
    for (;;) {
      try {
        const fd = fs.openSync(node.logFile, 'r');
        try {
          const size = fs.fstatSync(fd).size;
          if (size > offset) {
            const b = Buffer.alloc(size - offset);
            fs.readSync(fd, b, 0, b.length, offset);
            offset = size;
            text = (text + b.toString('utf8')).slice(-256 * 1024);
          }
        } finally {
          fs.closeSync(fd);
        }
      } catch {
        /* log not created yet */
      }
      if (text.includes(STARTED_LINE)) return;
      const conflict = /Address already in use|BindException/.test(text + tailFile(node.stdoutFile, 20));
      if (node.exited || conflict || Date.now() > deadline) {
        const why = node.exited
          ? `exited (code ${node.exited.code}, signal ${node.exited.signal})`
          : conflict
            ? 'could not bind its port'
            : `did not log "${STARTED_LINE}" within ${Math.round((opts.readyTimeoutMs ?? READY_TIMEOUT_MS) / 1000)} s`;
        const msg =
          `Kafka node ${node.id} ${why}. Folder: ${node.dir}\n--- last 40 lines of ${node.logFile}:\n${tailFile(node.logFile, 40)}` +
          `\n--- ${node.stdoutFile}:\n${tailFile(node.stdoutFile, 40)}`;
        throw conflict ? new PortConflictError(msg) : new Error(msg);
      }
      await sleep(100);
    }
  };

  /** @param {NodeState} node @param {NodeJS.Signals} signal @param {number} graceMs */
  const stopNode = async (node, signal, graceMs) => {
    const proc = node.proc;
    if (!proc || node.exited) return;
    try {
      proc.kill(signal);
    } catch {
      /* gone */
    }
    const timedOut = await Promise.race([node.exitPromise?.then(() => false), idle(graceMs).then(() => true)]);
    if (timedOut && !node.exited) {
      try {
        proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
      await node.exitPromise;
    }
  };

  const tSpawn = Date.now();
  const readyTimeout = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + readyTimeout;
  for (const n of nodes) spawnNode(n);
  /** @type {Record<string, string>} */
  const bootstrap = {};
  for (const l of listeners) bootstrap[l] = nodes.map((n) => `127.0.0.1:${n.ports[l]}`).join(',');
  try {
    await Promise.all(nodes.map((n) => waitStarted(n, 0, deadline)));
    await waitClusterReady(bootstrap.PLAINTEXT ?? '', nodeCount, deadline, nodes);
  } catch (err) {
    await Promise.all(nodes.map((n) => stopNode(n, 'SIGKILL', 5000)));
    throw err;
  }
  if (cdsArchive && nodes.some((n) => /\[cds|shared archive/i.test(tailFile(n.stdoutFile, 40)))) {
    log(`the JVM rejected ${cdsArchive}; removing it (a new one is written next time)`);
    fs.rmSync(cdsArchive, { force: true });
  }
  const startMs = Date.now() - t0;
  log(
    `Kafka ${nodeCount === 1 ? 'broker' : `${nodeCount}-node cluster`} ready in ${(startMs / 1000).toFixed(1)} s ` +
      `(format ${(formatMs / 1000).toFixed(1)} s, start ${((Date.now() - tSpawn) / 1000).toFixed(1)} s): ` +
      listeners.map((l) => `${l} ${bootstrap[l]}`).join(' | '),
  );

  let stopped = false;
  /** @type {Promise<void> | null} */
  let stopping = null;
  const handle = {
    dir,
    clusterId,
    startMs,
    formatMs,
    listeners,
    bootstrap,
    ssl: tls
      ? {
          caFile: tls.caFile,
          certFile: tls.certFile,
          keyFile: tls.keyFile,
          encryptedKeyFile: tls.encryptedKeyFile,
          keyPassword: tls.keyPassword,
        }
      : null,
    users: { plain: { ...USERS.plain }, admin: { ...USERS.admin }, scram: { ...USERS.scram } },
    oauth: opts.oauth ? { ...opts.oauth } : null,
    get nodes() {
      return nodes.map((n) => ({
        id: n.id,
        pid: n.exited ? null : n.pid,
        ports: { ...n.ports },
        running: !!n.proc && !n.exited,
        logFile: n.logFile,
      }));
    },
    /**
     * Stops every node (SIGTERM, then SIGKILL after graceMs) and removes the folder unless keepDir. Idempotent.
     * Default grace: 10 s; 3 s for a throwaway 3-node cluster (once two controllers are gone the last node's
     * controlled shutdown waits for a quorum that no longer exists).
     * @param {{ graceMs?: number }} [stopOpts]
     */
    stop(stopOpts = {}) {
      const grace = stopOpts.graceMs ?? (nodes.length > 1 && !keepDir ? 3000 : STOP_GRACE_MS);
      stopping ??= (async () => {
        if (cdsCreate) log('writing the JVM class-data archive for faster starts (once, ~5 s)...');
        await Promise.all(nodes.map((n) => stopNode(n, 'SIGTERM', cdsCreate && n.id === 1 ? 60_000 : grace)));
        stopped = true;
        if (!keepDir) await fsp.rm(dir, { recursive: true, force: true });
        else fs.rmSync(path.join(dir, 'pids'), { force: true });
      })();
      return stopping;
    },
    /**
     * Kills one node (default SIGKILL) and waits for it to exit.
     * @param {number} id
     * @param {NodeJS.Signals} [signal]
     */
    async killNode(id, signal = 'SIGKILL') {
      const node = nodes.find((n) => n.id === id);
      if (!node) throw new Error(`no node ${id}`);
      await stopNode(node, signal, signal === 'SIGKILL' ? 30_000 : STOP_GRACE_MS);
    },
    /**
     * Restarts a stopped node with the same config and ports; resolves when it logs "Kafka Server started".
     * @param {number} id
     */
    async startNode(id) {
      if (stopped) throw new Error('cluster was stopped');
      const node = nodes.find((n) => n.id === id);
      if (!node) throw new Error(`no node ${id}`);
      if (node.proc && !node.exited) throw new Error(`node ${id} is running (pid ${node.pid})`);
      let offset = 0;
      try {
        offset = fs.statSync(node.logFile).size;
      } catch {
        /* none */
      }
      spawnNode(node);
      try {
        await waitStarted(node, offset, Date.now() + readyTimeout);
      } catch (err) {
        await stopNode(node, 'SIGKILL', 5000);
        throw err;
      }
    },
    /**
     * The node id leading a partition (-1 when none), via a kafkajs admin on the PLAINTEXT listener.
     * @param {string} topic
     * @param {number} [partition]
     */
    async leaderOf(topic, partition = 0) {
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({
        clientId: 'local-kafka-leader',
        brokers: liveBootstrap(nodes),
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        const p = md.topics[0]?.partitions.find((x) => x.partitionId === partition);
        return p ? p.leader : -1;
      } finally {
        await admin.disconnect();
      }
    },
  };
  return handle;
}

/** @param {NodeState[]} nodes */
function liveBootstrap(nodes) {
  const live = nodes.filter((n) => n.proc && !n.exited);
  return (live.length ? live : nodes).map((n) => `127.0.0.1:${n.ports.PLAINTEXT}`);
}

/**
 * kafkajs describeCluster() on PLAINTEXT until every node is registered.
 * @param {string} bootstrap @param {number} nodeCount @param {number} deadline @param {NodeState[]} nodes
 */
async function waitClusterReady(bootstrap, nodeCount, deadline, nodes) {
  const { Kafka, logLevel } = await import('kafkajs');
  let lastErr = /** @type {unknown} */ (null);
  while (Date.now() < deadline) {
    const dead = nodes.find((n) => n.exited);
    if (dead)
      throw new Error(`Kafka node ${dead.id} exited during the readiness check:\n${tailFile(dead.logFile, 40)}`);
    const admin = new Kafka({
      clientId: 'local-kafka-ready',
      brokers: bootstrap.split(','),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      requestTimeout: 5000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const info = await admin.describeCluster();
      if (info.brokers.length >= nodeCount) return;
      lastErr = new Error(`${info.brokers.length}/${nodeCount} brokers registered`);
    } catch (err) {
      lastErr = err;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(200);
  }
  throw new Error(
    `Kafka started but describeCluster() did not succeed in time: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}\n` +
      nodes.map((n) => `--- node ${n.id} ${n.logFile}:\n${tailFile(n.logFile, 40)}`).join('\n'),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// CLI

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {Record<string, string|boolean>} */
  const out = {};
  /** @type {string[]} */
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = /** @type {string} */ (argv[i]);
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      const key = /** @type {string} */ (k);
      if (v !== undefined) out[key] = v;
      else if (
        i + 1 < argv.length &&
        !String(argv[i + 1]).startsWith('--') &&
        !['fixed-ports', 'persist', 'keep-dir', 'help'].includes(key)
      ) {
        out[key] = /** @type {string} */ (argv[++i]);
      } else out[key] = true;
    } else rest.push(a);
  }
  return { flags: out, rest };
}

const USAGE = `usage:
  node deploy/local-kafka/kafka.mjs start [--nodes 1|3] [--listeners PLAINTEXT,SSL,SASL_PLAINTEXT,SASL_SSL,OAUTHBEARER]
        [--dir DIR] [--fixed-ports] [--persist] [--heap-mb N] [--jwks-url URL --issuer ISS --audience AUD]
  node deploy/local-kafka/kafka.mjs jars              fetch the jars (mvn) if needed
  node deploy/local-kafka/kafka.mjs cleanup [DIR]     kill brokers left by crashed runs (default: the temp dir)`;

async function main() {
  const { flags, rest } = parseArgs(process.argv.slice(2));
  const cmd = rest[0] ?? 'start';
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (cmd === 'jars') {
    await ensureJars();
    return;
  }
  if (cmd === 'cleanup') {
    const r = await cleanupStale(rest[1] ?? os.tmpdir());
    console.log(JSON.stringify(r));
    return;
  }
  if (cmd !== 'start') {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const dir = typeof flags.dir === 'string' ? path.resolve(flags.dir) : undefined;
  if (dir) await cleanupStale(path.dirname(dir));
  const handle = await startKafka({
    nodes: flags.nodes === '3' ? 3 : 1,
    listeners:
      typeof flags.listeners === 'string' ? /** @type {ListenerName[]} */ (flags.listeners.split(',')) : undefined,
    dir,
    ports: flags['fixed-ports'] ? 'fixed' : 'free',
    persist: !!flags.persist,
    heapMb: typeof flags['heap-mb'] === 'string' ? Number(flags['heap-mb']) : undefined,
    oauth:
      typeof flags['jwks-url'] === 'string'
        ? {
            jwksUrl: flags['jwks-url'],
            issuer: typeof flags.issuer === 'string' ? flags.issuer : undefined,
            audience: typeof flags.audience === 'string' ? flags.audience : undefined,
          }
        : undefined,
  });
  const lines = [`cluster ${handle.clusterId} in ${handle.dir} (started in ${(handle.startMs / 1000).toFixed(1)} s)`];
  for (const [l, b] of Object.entries(handle.bootstrap)) lines.push(`  ${l.padEnd(15)} ${b}`);
  if (handle.ssl)
    lines.push(
      `  CA ${handle.ssl.caFile}`,
      `  client cert ${handle.ssl.certFile}`,
      `  client key ${handle.ssl.keyFile}`,
    );
  if (handle.listeners.some((l) => l.startsWith('SASL'))) {
    lines.push(`  SASL PLAIN/SCRAM user ${handle.users.plain.username} / ${handle.users.plain.password}`);
  }
  lines.push(`  KAFKA_BROKERS=${handle.bootstrap.PLAINTEXT}`, 'Ctrl-C stops it.');
  console.log(lines.join('\n'));
  let closing = false;
  const shutdown = async (/** @type {string} */ sig, code = 0) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`[local-kafka] ${sig}: stopping Kafka...\n`);
    await handle.stop();
    process.stderr.write('[local-kafka] stopped\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // Stay in the foreground; notice if a broker dies on its own.
  const watch = setInterval(() => {
    const dead = handle.nodes.filter((n) => !n.running);
    if (dead.length && !closing) {
      console.error(`[local-kafka] node(s) ${dead.map((n) => n.id).join(', ')} exited; see ${dead[0]?.logFile}`);
      clearInterval(watch);
      void shutdown('broker exit', 1);
    }
  }, 1000);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`[local-kafka] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
