import type { InstanceId, LinkModel, ServiceModel } from "./types";

/**
 * For each container, the containers that must be up before it starts: every replica of the
 * servers of its component's links marked `clientStartsAfterServer`. Everything else starts at
 * once, so the deployment's critical path is the longest chain of real needs, not a fixed list.
 */
export function startDependencies(services: Record<InstanceId, Pick<ServiceModel, "id" | "component">>, links: readonly LinkModel[]): Record<InstanceId, InstanceId[]> {
  const all = Object.values(services);
  const dependencies: Record<InstanceId, InstanceId[]> = {};
  for (const service of all) {
    const servers = new Set(
      links
        .filter((link) => link.client === service.component && link.clientStartsAfterServer && link.server !== service.component)
        .map((link) => link.server),
    );
    dependencies[service.id] = all.filter((other) => servers.has(other.component)).map((other) => other.id).sort();
  }
  return dependencies;
}

/**
 * The containers in an order where each comes after everything it starts after (a topological
 * order, ties broken by the containers' own order). A cycle is a model bug: no deployment could start it.
 */
export function startOrder(dependencies: Record<InstanceId, readonly InstanceId[]>): InstanceId[] {
  const ids = Object.keys(dependencies);
  const ordered: InstanceId[] = [];
  const placed = new Set<InstanceId>();
  while (ordered.length < ids.length) {
    const ready = ids.find((id) => !placed.has(id) && (dependencies[id] ?? []).every((dep) => placed.has(dep)));
    if (ready === undefined) {
      const stuck = ids.filter((id) => !placed.has(id)).map((id) => `${id} <- ${(dependencies[id] ?? []).join(", ")}`);
      throw new Error(`model bug: the links' start dependencies form a cycle: ${stuck.join("; ")}`);
    }
    ordered.push(ready);
    placed.add(ready);
  }
  return ordered;
}
