/**
 * OpenTelemetry Collector Builder (ocb) manifest for the collector the stack deploys.
 *
 * The e2e suite runs a REAL collector built from source (no container registry is
 * reachable), so its binary must contain exactly the components the stack's collector
 * config uses. The manifest is rendered from the component set (derived from the
 * config), never written by hand, so the two cannot drift apart.
 *
 * Every module path, version and component type below was checked against the module
 * sources served by the Go module proxy at the pinned version (each module's
 * metadata.yaml / internal/metadata/generated_status.go).
 */
import { stringify } from "yaml";

/** Collector release the stack pins (`otel/opentelemetry-collector-contrib:0.159.0`). */
export const COLLECTOR_VERSION = "0.159.0";

/** Unstable core and all contrib modules carry the release version. */
const BETA_VERSION = `v${COLLECTOR_VERSION}`;
/**
 * Stable core modules (confmap providers, ...) are versioned v1.x: core v0.N pairs with
 * stable v1.(N-94), so v0.159.0 pairs with v1.65.0 (the builder's own
 * DefaultStableOtelColVersion at v0.159.0).
 */
const STABLE_VERSION = "v1.65.0";

/** Name of the binary: the official contrib image's entrypoint is /otelcol-contrib. */
export const COLLECTOR_BINARY_NAME = "otelcol-contrib";

const CORE = "go.opentelemetry.io/collector";
const CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib";

/** Component types (the part of a component ID before any "/name"), per kind. */
export interface CollectorComponentSet {
  receivers: string[];
  processors: string[];
  exporters: string[];
  extensions: string[];
}

type ComponentKind = keyof CollectorComponentSet;

/** "<module path> <version>", the form ocb's `gomod` field takes. */
type GoModSpec = string;

/** Component type -> Go module, at the pinned version. Add rows only after checking the
 * type name in the module's metadata.yaml at that version. */
const MODULES: Record<ComponentKind, Readonly<Record<string, GoModSpec>>> = {
  receivers: {
    otlp: `${CORE}/receiver/otlpreceiver ${BETA_VERSION}`,
  },
  processors: {
    memory_limiter: `${CORE}/processor/memorylimiterprocessor ${BETA_VERSION}`,
    batch: `${CORE}/processor/batchprocessor ${BETA_VERSION}`,
  },
  exporters: {
    // Since v0.144.0 the OTLP gRPC exporter's type is otlp_grpc ("otlp" is a deprecated alias).
    otlp_grpc: `${CORE}/exporter/otlpexporter ${BETA_VERSION}`,
    // Since v0.144.0 the OTLP HTTP exporter's type is otlp_http ("otlphttp" is a deprecated alias).
    otlp_http: `${CORE}/exporter/otlphttpexporter ${BETA_VERSION}`,
    debug: `${CORE}/exporter/debugexporter ${BETA_VERSION}`,
  },
  extensions: {
    health_check: `${CONTRIB}/extension/healthcheckextension ${BETA_VERSION}`,
    // Its own module since the storage extensions were split (metadata.yaml type: file_storage).
    file_storage: `${CONTRIB}/extension/storage/filestorage ${BETA_VERSION}`,
  },
};

/** Deprecated type aliases at the pinned version: refused, with the name to use. */
const DEPRECATED_ALIASES: Partial<Record<ComponentKind, Readonly<Record<string, string>>>> = {
  exporters: { otlp: "otlp_grpc", otlphttp: "otlp_http" },
};

/** Confmap providers: file (--config=/path), env (${env:VAR}) and yaml (--set). */
const PROVIDERS: readonly GoModSpec[] = ["envprovider", "fileprovider", "yamlprovider"].map(
  (p) => `${CORE}/confmap/provider/${p} ${STABLE_VERSION}`,
);

/** Internal telemetry (the collector's own metrics/logs); ocb's default, pinned explicitly. */
const TELEMETRY = {
  gomod: `${CORE}/service ${BETA_VERSION}`,
  import: `${CORE}/service/telemetry/otelconftelemetry`,
};

const KIND_ORDER: readonly ComponentKind[] = ["receivers", "processors", "exporters", "extensions"];

/** Singular kind for messages ("receivers" -> "receiver"). */
function singular(kind: ComponentKind): string {
  return kind.slice(0, -1);
}

/**
 * Module specs for one kind: each component type's module exactly once, in a stable
 * (sorted) order. Accepts full component IDs ("otlp_grpc/tempo") as well as types.
 */
function modulesFor(kind: ComponentKind, ids: readonly string[]): GoModSpec[] {
  const specs = new Set<GoModSpec>();
  for (const id of ids) {
    const type = id.split("/")[0].trim();
    const spec = MODULES[kind][type];
    if (spec === undefined) {
      const replacement = DEPRECATED_ALIASES[kind]?.[type];
      if (replacement !== undefined) {
        throw new Error(
          `collector ${singular(kind)} "${type}" is a deprecated alias in v${COLLECTOR_VERSION}; ` +
            `use "${replacement}" in the collector config`,
        );
      }
      const known = Object.keys(MODULES[kind]).sort().join(", ");
      throw new Error(
        `unknown collector ${singular(kind)} "${type}"${type === id ? "" : ` (from "${id}")`}: ` +
          `no Go module is known for it at v${COLLECTOR_VERSION} (known ${kind}: ${known}); ` +
          `add it to configs/collector/builderManifest.ts after checking its module and type name`,
      );
    }
    specs.add(spec);
  }
  return [...specs].sort();
}

/**
 * Render the ocb manifest (YAML text) for a collector with exactly `components`,
 * building the `otelcol-contrib` binary into `outputPath`.
 */
export function renderCollectorBuilderManifest(components: CollectorComponentSet, outputPath: string): string {
  if (outputPath.trim() === "") {
    throw new Error("renderCollectorBuilderManifest: outputPath must not be empty");
  }
  const manifest: Record<string, unknown> = {
    dist: {
      module: "tracing-stack.local/otelcol-contrib",
      name: COLLECTOR_BINARY_NAME,
      description: `OpenTelemetry Collector ${COLLECTOR_VERSION} with the components the tracing stack uses`,
      version: COLLECTOR_VERSION,
      output_path: outputPath,
      // Static binary: it runs in a FROM-scratch image.
      cgo_enabled: false,
    },
  };
  for (const kind of KIND_ORDER) {
    const specs = modulesFor(kind, components[kind]);
    if (specs.length > 0) {
      manifest[kind] = specs.map((gomod) => ({ gomod }));
    }
  }
  manifest.providers = PROVIDERS.map((gomod) => ({ gomod }));
  manifest.telemetry = TELEMETRY;
  return stringify(manifest, { lineWidth: 0 });
}
