// Types for kafka.mjs (plain JavaScript so it runs without a build step).

export type ListenerName = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL' | 'OAUTHBEARER';
export type PortName = ListenerName | 'CONTROLLER';
export type LogFn = (msg: string) => void;

export interface OAuthOptions {
  /** JWKS endpoint the broker fetches keys from (also passed as -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls). */
  jwksUrl: string;
  /** Expected `iss` (sasl.oauthbearer.expected.issuer). */
  issuer?: string;
  /** Expected `aud` (sasl.oauthbearer.expected.audience). */
  audience?: string;
}

export interface StartKafkaOptions {
  /** Data/config folder. Default: a fresh mkdtemp under os.tmpdir() (removed by stop()). */
  dir?: string;
  /** 1 (combined broker+controller) or 3 (KRaft quorum of 3 combined nodes). Default 1. */
  nodes?: 1 | 3;
  /** Listeners to open; PLAINTEXT is always added (inter-broker + readiness). Default ['PLAINTEXT']. */
  listeners?: ListenerName[];
  /**
   * 'free' (default): ports picked with listen(0). 'fixed': dev ports (PLAINTEXT 9092, CONTROLLER 9093,
   * SASL_PLAINTEXT 9094, SSL 9095, SASL_SSL 9096, OAUTHBEARER 9097). A map: those ports overridden.
   * With 3 nodes and fixed ports, node N uses N*10000 + port.
   */
  ports?: 'free' | 'fixed' | Partial<Record<PortName, number>>;
  /** Required with the OAUTHBEARER listener. */
  oauth?: OAuthOptions;
  /** -Xmx in MiB. Default 512 (1 node), 384 per node (3 nodes). */
  heapMb?: number;
  /** Progress lines. Default: stderr with a [local-kafka] prefix. */
  log?: LogFn;
  /** Extra server.properties entries (override ours). */
  brokerProps?: Record<string, string | number | boolean>;
  /** Extra JVM flags, appended (later flags win, e.g. '-XX:TieredStopAtLevel=4' for benchmarks). */
  jvmOpts?: string[];
  /** Extra Log4j2 logger levels, e.g. { 'kafka.controller': 'INFO' }. Root is WARN. */
  logLevels?: Record<string, string>;
  /** Keep `dir` after stop(). Default: false for a temp dir, true for a given dir. */
  keepDir?: boolean;
  /** Reuse an already formatted `dir` (same node count): topics survive restarts (dev mode). Default false. */
  persist?: boolean;
  /** Start java under `setpriv --pdeathsig SIGKILL` so the kernel kills it if this process dies. Default true. */
  dieWithParent?: boolean;
  /** Default 90 000. */
  readyTimeoutMs?: number;
  /** Use/create the JVM class-data archive in libs/.cache (about 2x faster JVM start). Default true (env LOCAL_KAFKA_CDS=0 disables). */
  cds?: boolean;
  /** Reuse a cached bootstrap.checkpoint instead of running StorageTool format. Default true (env LOCAL_KAFKA_FORMAT_CACHE=0 disables). */
  formatCache?: boolean;
}

export interface KafkaNodeInfo {
  id: number;
  /** null once the node has exited. */
  pid: number | null;
  ports: Partial<Record<PortName, number>>;
  running: boolean;
  logFile: string;
}

export interface KafkaSslFiles {
  /** CA that signed the broker and client certs (PEM). */
  caFile: string;
  /** Client certificate for mTLS, CN=alice (PEM). */
  certFile: string;
  /** Client private key, PKCS#8, unencrypted (PEM). */
  keyFile: string;
  /** The same client key, encrypted with keyPassword (PEM, PKCS#8). */
  encryptedKeyFile: string;
  keyPassword: string;
}

export interface KafkaUser {
  username: string;
  password: string;
}

export interface LocalKafka {
  readonly dir: string;
  readonly clusterId: string;
  /** Wall time of startKafka() after the jars check: format + JVM start + readiness check. */
  readonly startMs: number;
  readonly formatMs: number;
  readonly listeners: ListenerName[];
  /** Comma-separated host:port lists per listener, e.g. { PLAINTEXT: '127.0.0.1:41234' }. */
  readonly bootstrap: Partial<Record<ListenerName, string>> & { PLAINTEXT: string };
  /** Set when an SSL or SASL_SSL listener exists. */
  readonly ssl: KafkaSslFiles | null;
  /** plain: PLAIN user; scram: SCRAM-SHA-256/512 user; admin: both. */
  readonly users: { plain: KafkaUser; admin: KafkaUser; scram: KafkaUser };
  readonly oauth: OAuthOptions | null;
  readonly nodes: KafkaNodeInfo[];
  /**
   * SIGTERM every node, SIGKILL after graceMs (default 10 s; 3 s for a throwaway 3-node cluster), then remove the
   * folder (unless keepDir). Idempotent.
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
  /** Signal one node (default SIGKILL) and wait for it to exit. */
  killNode(id: number, signal?: NodeJS.Signals): Promise<void>;
  /** Restart a stopped node with the same config and ports; resolves once it logs "Kafka Server started". */
  startNode(id: number): Promise<void>;
  /** Leader node id of a partition (-1 if none), via kafkajs admin on PLAINTEXT. */
  leaderOf(topic: string, partition?: number): Promise<number>;
}

export const HERE: string;
export const LIBS_DIR: string;
export const POM_FILE: string;
export const LISTENERS: readonly ListenerName[];
export const DEV_PORTS: Readonly<Record<PortName, number>>;
export const USERS: Readonly<{ plain: KafkaUser; admin: KafkaUser; scram: KafkaUser }>;

/** Runs `mvn -B -ntp package` when libs/ is missing or was fetched for another pom.xml. */
export function ensureJars(opts?: { log?: LogFn }): Promise<{ libsDir: string; fetched: boolean; ms: number }>;
/** Starts a real Kafka (KRaft) broker or 3-node cluster and waits until it serves clients. */
export function startKafka(opts?: StartKafkaOptions): Promise<LocalKafka>;
/** Kills brokers recorded in `pids` files (baseDir and its subfolders) whose owner process is gone. */
export function cleanupStale(
  baseDir?: string,
  opts?: { log?: LogFn },
): Promise<{ killed: number[]; removed: string[] }>;
/** java -cp value for the broker jars and Kafka's tools (e.g. org.apache.kafka.tools.ProducerPerformance). */
export function classpath(): string;
/** A Kafka-style random Uuid (base64url, 22 chars). */
export function randomClusterId(): string;
