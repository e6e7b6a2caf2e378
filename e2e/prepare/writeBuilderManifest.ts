/**
 * Write the collector builder (ocb) manifest for collector.sh, from the component types the
 * stack's rendered collector config uses: the binary can neither lack nor carry a component.
 *
 * Usage: node --import tsx e2e/prepare/writeBuilderManifest.ts <manifest.yaml> <build-output-dir>
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { collectorComponentTypes, renderCollectorConfig } from "../../configs/collector/collectorConfig";
import { renderCollectorBuilderManifest } from "../../configs/collector/builderManifest";
import { loadStackModelFromFile } from "../../model";

function main(argv: string[]): void {
  const [manifestPath, outputPath] = argv;
  if (!manifestPath || !outputPath) {
    console.error("usage: writeBuilderManifest.ts <manifest.yaml> <build-output-dir>");
    process.exit(2);
  }
  // Every stack renders the same component set; dev is the reference stack.
  const model = loadStackModelFromFile("dev", join(__dirname, "..", ".."));
  writeFileSync(manifestPath, renderCollectorBuilderManifest(collectorComponentTypes(renderCollectorConfig(model)), outputPath));
}

main(process.argv.slice(2));
