/**
 * Write the collector builder (ocb) manifest for collector.sh.
 *
 * Usage: npx tsx e2e/prepare/writeBuilderManifest.ts <manifest.yaml> <build-output-dir>
 *
 * The component set below is the one the stack's collector config uses today. It is a
 * stand-in: once the config renderer exists, derive the set from the rendered config so
 * the binary cannot lack (or carry extra) components.
 */
import { writeFileSync } from "node:fs";
import { CollectorComponentSet, renderCollectorBuilderManifest } from "../../configs/collector/builderManifest";

const STACK_COLLECTOR_COMPONENTS: CollectorComponentSet = {
  receivers: ["otlp"],
  processors: ["memory_limiter", "batch"],
  exporters: ["otlp_grpc"],
  extensions: ["health_check"],
};

function main(argv: string[]): void {
  const [manifestPath, outputPath] = argv;
  if (!manifestPath || !outputPath) {
    console.error("usage: writeBuilderManifest.ts <manifest.yaml> <build-output-dir>");
    process.exit(2);
  }
  writeFileSync(manifestPath, renderCollectorBuilderManifest(STACK_COLLECTOR_COMPONENTS, outputPath));
}

main(process.argv.slice(2));
