/**
 * The single place where container ports, image pins, user ids and in-container paths are written.
 * Everything else (configs, components, tests, the end-to-end suite) reads them from the model.
 */

export const PROJECT_NAME = "tracing-stack";

/** Ports the processes listen on inside their containers. */
export const CONTAINER_PORTS = {
  tempoHttpApi: 3200,
  tempoInternalGrpc: 9095,
  tempoOtlpGrpc: 4317,
  tempoOtlpHttp: 4318,
  /** Gossip of Tempo's rings (memberlist, TCP under TLS), microservices mode. */
  tempoMemberlist: 7946,
  /** The in-stack object store's S3 API (SeaweedFS' default). */
  objectStoreS3: 8333,
  collectorOtlpGrpc: 4317,
  collectorOtlpHttp: 4318,
  collectorHealthCheck: 13133,
  /** The collector's own metrics (Prometheus pull reader, no TLS): bound to the container's loopback only. */
  collectorTelemetry: 8888,
  appHttp: 3010,
  grafanaHttp: 3000,
  prometheusHttp: 9090,
} as const;

/**
 * Pinned images. Tempo stays on 2.x: 3.0 removed the ingester and with it
 * `tempo_ingester_traces_created_total`, which the verification depends on.
 */
export const DEFAULT_IMAGES = {
  tempo: "grafana/tempo:2.10.8",
  collector: "otel/opentelemetry-collector-contrib:0.159.0",
  grafana: "grafana/grafana:12.3.1",
  prometheus: "prom/prometheus:v3.5.0",
  /** SeaweedFS 4.53 (Apache-2.0): the in-stack S3 store of microservices mode. */
  objectStore: "chrislusf/seaweedfs:4.53",
} as const;

/**
 * The uid each official image runs as. It owns the image's data directories (/var/tempo,
 * /prometheus, /var/lib/grafana), so the process keeps that uid to write them.
 */
export const IMAGE_UIDS = {
  tempo: 10001,
  tempoDistributor: 10001,
  tempoIngester: 10001,
  tempoQueryFrontend: 10001,
  tempoQuerier: 10001,
  tempoCompactor: 10001,
  tempoMetricsGenerator: 10001,
  /** SeaweedFS' image owns /data as uid 1000 ("seaweed"); its entrypoint script, skipped here, would su-exec to it. */
  objectStore: 1000,
  collector: 10001,
  app: 1000,
  appBackend: 1000,
  grafana: 472,
  prometheus: 65534,
} as const;

/**
 * The group every service process runs with, and the group that may read uploaded files.
 *
 * Why 0: the Docker provider writes uploads through the Engine's archive API. Setting an upload's
 * owner/group makes it ask for `copyUIDGID`, and the daemon then resolves the container's user in
 * the HOST's passwd database, which fails for any uid the host does not have (moby/moby#34142).
 * Without owner/group every file lands root:root with the given mode. A process running as
 * `<image uid>:0` reads a root-group file of mode 0440; users of any other group cannot (the
 * pattern of the Grafana image and OpenShift's arbitrary uids).
 */
export const SERVICE_GID = 0;

/** Modes of uploaded files (all root:root, see SERVICE_GID). */
export const FILE_MODES = {
  /** Certificates, the CA and rendered configs hold nothing secret. */
  public: "0444",
  /** Private keys: owner (root) and the service's group only, never other users. */
  privateKey: "0440",
} as const;

/**
 * The collector's own image (images/collector): the pinned official image plus its queue
 * directory. Named after the image it extends, so every stack on a host shares one build.
 */
export const COLLECTOR_IMAGE_BUILD = {
  context: "images/collector",
  dockerfile: "images/collector/Dockerfile",
  imageName: (baseRef: string): string => `${PROJECT_NAME}/otelcol-contrib:${baseRef.slice(baseRef.lastIndexOf(":") + 1)}`,
} as const;

/**
 * Seconds each service gets between SIGTERM and SIGKILL. Tempo: its metrics-generator sleeps 5 s
 * on stop (modules/generator/generator.go), then flushes remote write (bounded at 10 s in
 * tempo.yaml), and its query-frontend can wait on an empty tenant queue until a 30 s cleanup that
 * never comes during shutdown (grafana/tempo#7967): 30 s covers the bounded path, and the ingester
 * has written every trace to its WAL before that wait. The collector closes its file queue; the
 * app flushes its spans; Prometheus writes its head block.
 */
export const STOP_TIMEOUT_SECONDS = {
  tempo: 30,
  tempoDistributor: 30,
  /** An ingester leaving the ring hands nothing over (its WAL replays on start), but flushes what it can. */
  tempoIngester: 30,
  tempoQueryFrontend: 30,
  tempoQuerier: 30,
  tempoCompactor: 30,
  tempoMetricsGenerator: 30,
  objectStore: 10,
  collector: 20,
  app: 10,
  appBackend: 10,
  grafana: 10,
  prometheus: 30,
} as const;

/** Where each container finds its configuration and TLS material. */
export const CONTAINER_PATHS = {
  tempo: {
    configFile: "/etc/tempo/tempo.yaml",
    tlsDir: "/etc/tempo/tls",
    dataDir: "/var/tempo",
    /** The CA of an external object store, when the stack file names one. */
    objectStorageCaFile: "/etc/tempo/tls/object-storage-ca.crt",
    /** The object store's key pair as an AWS shared credentials file (a secret file). */
    objectStorageCredentialsFile: "/etc/tempo/secrets/s3-credentials",
  },
  objectStore: {
    tlsDir: "/etc/seaweedfs/tls",
    dataDir: "/data",
    /** SeaweedFS' S3 identities (`-s3.config`): the access keys; a secret file. */
    identitiesFile: "/etc/seaweedfs/s3-identities.json",
    /** curl's config with the bucket owner's key pair, read by the healthcheck that creates the bucket. */
    bucketOwnerCurlConfig: "/etc/seaweedfs/bucket-owner.curlrc",
  },
  collector: {
    configFile: "/etc/otelcol-contrib/config.yaml",
    tlsDir: "/etc/otelcol-contrib/tls",
    /** The persistent sending queue (file_storage): a named volume, owned by the collector's uid through its image. */
    queueDir: "/var/lib/otelcol/file_storage",
  },
  app: {
    tlsDir: "/etc/app/tls",
  },
  appBackend: {
    tlsDir: "/etc/app/tls",
  },
  grafana: {
    tlsDir: "/etc/grafana/tls",
    /** The admin password, read through GF_SECURITY_ADMIN_PASSWORD__FILE (a secret file). */
    adminPasswordFile: "/etc/grafana/secrets/admin-password",
  },
  prometheus: {
    configFile: "/etc/prometheus/prometheus.yml",
    webConfigFile: "/etc/prometheus/web-config.yml",
    tlsDir: "/etc/prometheus/tls",
    dataDir: "/prometheus",
  },
} as const;

/** Defaults a stack file may override. */
export const DEFAULTS = {
  hostBindAddress: "127.0.0.1",
  hostPorts: {
    grafana: 3000,
    tempoApi: 3200,
    app: 3010,
    collectorOtlpGrpc: 4317,
    collectorOtlpHttp: 4318,
    prometheus: 9090,
  },
  networkAliases: {
    tempo: "tempo",
    tempoDistributor: "tempo-distributor",
    tempoIngester: "tempo-ingester",
    tempoQueryFrontend: "tempo-query-frontend",
    tempoQuerier: "tempo-querier",
    tempoCompactor: "tempo-compactor",
    tempoMetricsGenerator: "tempo-metrics-generator",
    objectStore: "object-store",
    collector: "otel-collector",
    app: "app",
    appBackend: "app-backend",
    grafana: "grafana",
    prometheus: "prometheus",
  },
  appServiceName: "tracing-stack-app",
  certificateValidityHours: 24 * 365,
  certificateEarlyRenewalHours: 24 * 30,
  tempoTraceIdlePeriodSeconds: 5,
  tempoFlushCheckPeriodSeconds: 5,
  /**
   * Traces Tempo's ingester holds open at once (overrides ingestion.max_traces_per_user); spans of
   * traces beyond it are discarded as live_traces_exceeded. A trace stays live for about
   * traceIdlePeriod + flushCheckPeriod after its last span, so Tempo's default of 10,000 caps a
   * 5 s + 5 s stack at 1,000 traces/s; the bench lost spans this way at 6,000 traces/s on a 2 s + 1 s
   * stack. 100,000 takes 10,000 traces/s at the default periods; memory stays bounded by Tempo's
   * ingestion rate limit (15 MB/s by default) times those seconds.
   */
  tempoMaxLiveTraces: 100_000,
  /** Microservices mode: the topology (two distributors, three ingesters, two queriers). */
  tempoReplicas: { distributor: 2, ingester: 3, querier: 2 },
  tempoReplicationFactor: 3,
  /** Tempo's own default (30 m): how long an ingester's head block may grow before it is flushed. */
  tempoMaxBlockDurationSeconds: 1800,
  objectStorageRegion: "us-east-1",
  verificationTraces: 10,
  verificationMinFraction: 1,
  verificationDeadlineSeconds: 180,
} as const;

/**
 * The network alias every container of microservices-mode Tempo shares: memberlist joins the ring
 * through it (DNS answers with all of them) and checks each peer's certificate against it.
 */
export const TEMPO_GOSSIP_ALIAS = "tempo-gossip-ring";
