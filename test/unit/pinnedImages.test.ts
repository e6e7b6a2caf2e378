/**
 * How the suite and the bench find the pinned Tempo image: the local engine, else `docker pull`, else
 * missing with one line that says how to provide it. The docker CLI is a double here (a script on
 * PATH that answers as the real CLI does for each case); the e2e suite runs the real one.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ensurePinnedImage, missingImageLine, needs, releaseOf } from "../../e2e/support/pinnedImages";
import { DEFAULT_IMAGES } from "../../model/constants";

/** A docker CLI that has (or lacks) the image, pulls (or not), and whose image prints a version line. */
function withDocker<T>(behaviour: { local: boolean; pull: boolean; versionLine: string }, body: () => T): T {
  const dir = mkdtempSync(join(tmpdir(), "fake-docker-"));
  const script = `#!/bin/sh
echo "$@" >> "${dir}/calls"
case "$1" in
  image) ${behaviour.local ? 'echo sha256:abc; exit 0' : 'echo "Error: No such image: $5" >&2; exit 1'} ;;
  pull) ${behaviour.pull ? "echo pulled; exit 0" : 'echo "Error response from daemon: Get \\"https://registry-1.docker.io/v2/\\": dial tcp: lookup registry-1.docker.io: no such host" >&2; exit 1'} ;;
  run) echo "${behaviour.versionLine}"; exit 0 ;;
esac
exit 2
`;
  writeFileSync(join(dir, "docker"), script);
  chmodSync(join(dir, "docker"), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path}`;
  try {
    return body();
  } finally {
    process.env.PATH = path;
  }
}

const release = "tempo, version 2.10.8 (branch: HEAD, revision: f0f3ed5919)";

describe("the pinned Tempo image is taken, never built or substituted", () => {
  it("uses the image in the local engine when it reports the pinned release", () => {
    const image = withDocker({ local: true, pull: false, versionLine: release }, () => ensurePinnedImage("tempo"));
    assert.deepEqual(image, { ref: DEFAULT_IMAGES.tempo, available: true, source: "local engine", version: release });
    assert.deepEqual(needs(image), {});
  });

  it("pulls it when the engine lacks it", () => {
    const image = withDocker({ local: false, pull: true, versionLine: release }, () => ensurePinnedImage("tempo"));
    assert.equal(image.available && image.source, "docker pull");
  });

  it("without it, the scenario is skipped with one line naming the image, why, and how to provide it", () => {
    const image = withDocker({ local: false, pull: false, versionLine: release }, () => ensurePinnedImage("tempo"));
    assert.equal(image.available, false);
    const skip = needs(image).skip ?? "";
    assert.equal(skip.split("\n").length, 1);
    assert.match(skip, /^needs grafana\/tempo:2\.10\.8: not in the local Docker engine, and `docker pull grafana\/tempo:2\.10\.8` failed \(.*no such host\)\./);
    assert.match(skip, /Provide it: `docker pull grafana\/tempo:2\.10\.8` where a registry is reachable, or `docker save grafana\/tempo:2\.10\.8 -o tempo-2\.10\.8\.tar` there and `docker load -i tempo-2\.10\.8\.tar` here$/);
  });

  it("refuses an image under the pin's tag that is another build", () => {
    const image = withDocker({ local: true, pull: false, versionLine: "tempo, version main-87c2dc380cec (branch: HEAD, revision: 87c2dc380cec)" }, () => ensurePinnedImage("tempo"));
    assert.equal(image.available, false);
    assert.match(missingImageLine(image as Extract<typeof image, { available: false }>), /reports "tempo, version main-87c2dc380cec.*not release 2\.10\.8: it is not the official image/);
  });

  it("reads the release from a tag, not from a digest", () => {
    assert.equal(releaseOf("grafana/tempo:2.10.8"), "2.10.8");
    assert.equal(releaseOf("prom/prometheus:v3.5.0"), "3.5.0");
    assert.equal(releaseOf("localhost:5000/tempo"), undefined);
    assert.equal(releaseOf(`grafana/tempo@sha256:${"a".repeat(64)}`), undefined);
  });
});
