/**
 * The licence rule, checked on every tracked file: Tempo, Grafana, Loki and k6 are AGPL-3.0 and this
 * project (Apache-2.0) never downloads, builds or vendors their code, in the product, its scripts or
 * its tests. They are deployed and tested only as their official images, by the tags the program pins.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_IMAGES } from "../../model/constants";
import { PROJECT_DIR } from "../support/pulumiMocks";

const AGPL_MODULES = ["github.com/grafana/tempo", "github.com/grafana/grafana", "github.com/grafana/loki", "go.k6.io/k6"];
/** Inputs the config validation must reject (test/unit/config.test.ts): not images anything runs. */
const REJECTED_INPUTS_FILE = "test/unit/config.test.ts";
const THIS_FILE = "test/unit/licencePolicy.test.ts";

function trackedTexts(): Array<[string, string]> {
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: PROJECT_DIR, encoding: "utf8" }).split("\0").filter(Boolean);
  return files
    .filter((f) => f !== THIS_FILE && !/\.(png|jpg|tar|gz)$/.test(f))
    .map((f): [string, string] => [f, readFileSync(join(PROJECT_DIR, f), "utf8")]);
}

/** Lines that fetch or build an AGPL module: a module@version (what `go install|get|mod download` take), a clone, a go build in one. */
export function agplBuildLines(text: string): string[] {
  const module = AGPL_MODULES.map((m) => m.replace(/\./g, "\\.")).join("|");
  const patterns = [
    new RegExp(`(${module})(/[\\w./-]*)?@`),
    new RegExp(`git\\s+clone\\s+\\S*(grafana/(tempo|grafana|loki)|grafana/k6)`),
    new RegExp(`go\\s+(install|get|build|mod\\s+download)\\b.*(${module})`),
  ];
  return text.split("\n").filter((line) => patterns.some((p) => p.test(line)));
}

/** `grafana/tempo:<tag>` references whose tag is not the program's pin. */
export function otherTempoTags(text: string, pin: string): string[] {
  return [...text.matchAll(/grafana\/tempo:([\w.-]+)/g)].map((m) => m[0]).filter((ref) => ref !== pin);
}

describe("the licence rule: no AGPL code is downloaded or built, and Tempo only runs by its pin", () => {
  const texts = trackedTexts();

  it("no tracked file downloads or builds Tempo, Grafana, Loki or k6", () => {
    const found = texts.flatMap(([file, text]) => agplBuildLines(text).map((line) => `${file}: ${line.trim()}`));
    assert.deepEqual(found, []);
  });

  it("no tracked file names a Tempo image other than the pin", () => {
    const found = texts.filter(([file]) => file !== REJECTED_INPUTS_FILE).flatMap(([file, text]) => otherTempoTags(text, DEFAULT_IMAGES.tempo).map((ref) => `${file}: ${ref}`));
    assert.deepEqual(found, []);
  });

  it("would catch the build this project once had", () => {
    // The removed e2e/prepare/tempo.sh downloaded the module and built it under a main-branch tag.
    // The examples are assembled from the module list, so this file holds no build line itself.
    const [tempoModule, , , k6Module] = AGPL_MODULES;
    assert.equal(agplBuildLines(`build_go_module "tempo" "${tempoModule}@$VERSION" ./cmd/tempo "$bin"`).length, 1);
    assert.equal(agplBuildLines(`GOFLAGS=-mod=mod go install ${k6Module}@v1.0.0`).length, 1);
    assert.equal(agplBuildLines("git clone https://github.com/grafana/tempo").length, 1);
    assert.deepEqual(otherTempoTags('build_image tempo "grafana/tempo:main-87c2dc380cec" "$ctx"', DEFAULT_IMAGES.tempo), ["grafana/tempo:main-87c2dc380cec"]);
    assert.deepEqual(otherTempoTags(`image: ${DEFAULT_IMAGES.tempo}`, DEFAULT_IMAGES.tempo), []);
  });
});
