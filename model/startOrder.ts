import type { ServiceId } from "./config";
import type { LinkModel, ServiceModel } from "./types";

/**
 * For each service, the services whose containers must be up before it starts: the servers of its
 * links marked `clientStartsAfterServer`. Everything else starts at once, so the deployment's
 * critical path is the longest chain of real needs, not a fixed list.
 */
export function startDependencies(services: Record<ServiceId, Pick<ServiceModel, "id">>, links: readonly LinkModel[]): Record<ServiceId, ServiceId[]> {
  const ids = Object.keys(services) as ServiceId[];
  const dependencies = {} as Record<ServiceId, ServiceId[]>;
  for (const id of ids) {
    const servers = links
      .filter((link) => link.client === id && link.clientStartsAfterServer && link.server !== id)
      .map((link) => link.server);
    dependencies[id] = [...new Set(servers)].sort();
  }
  return dependencies;
}

/**
 * The services in an order where each comes after everything it starts after (a topological order,
 * ties broken by the services' own order). A cycle is a model bug: no deployment could start it.
 */
export function startOrder(dependencies: Record<ServiceId, readonly ServiceId[]>): ServiceId[] {
  const ids = Object.keys(dependencies) as ServiceId[];
  const ordered: ServiceId[] = [];
  const placed = new Set<ServiceId>();
  while (ordered.length < ids.length) {
    const ready = ids.find((id) => !placed.has(id) && dependencies[id].every((dep) => placed.has(dep)));
    if (ready === undefined) {
      const stuck = ids.filter((id) => !placed.has(id)).map((id) => `${id} <- ${dependencies[id].join(", ")}`);
      throw new Error(`model bug: the links' start dependencies form a cycle: ${stuck.join("; ")}`);
    }
    ordered.push(ready);
    placed.add(ready);
  }
  return ordered;
}
