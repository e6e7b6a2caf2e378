import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadStackModelFromFile } from "../../model";
import { startDependencies, startOrder } from "../../model/startOrder";
import { PROJECT_DIR } from "../support/pulumiMocks";

describe("the start order comes from the links", () => {
  const model = loadStackModelFromFile("dev", PROJECT_DIR);

  it("declares every service once, each after what it starts after", () => {
    assert.deepEqual([...model.startOrder].sort(), Object.keys(model.services).sort());
    for (const id of model.startOrder) {
      for (const dep of model.startsAfter[id]) assert.ok(model.startOrder.indexOf(dep) < model.startOrder.indexOf(id), `${dep} before ${id}`);
    }
  });

  it("follows a link that gains a start dependency, so no list needs editing", () => {
    const links = model.links.map((l) => (l.id === "collector-to-tempo" ? { ...l, clientStartsAfterServer: true } : l));
    assert.deepEqual(startDependencies(model.services, links).collector, ["tempo"]);
  });

  it("refuses links whose start dependencies form a cycle, naming the services", () => {
    const links = model.links.map((l) => (["tempo-to-prometheus-remote-write", "prometheus-to-tempo"].includes(l.id) ? { ...l, clientStartsAfterServer: true } : l));
    assert.throws(() => startOrder(startDependencies(model.services, links)), /cycle: .*tempo <- prometheus.*prometheus <- tempo|cycle: .*prometheus <- tempo.*tempo <- prometheus/);
  });
});
