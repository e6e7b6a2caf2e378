import type { StackTopology } from "../../../model/types";
import { distributedTempoDashboard } from "./distributedTempo";
import { ingestionHealthDashboard } from "./ingestionHealth";
import { serviceGraphDashboard } from "./serviceGraph";
import { serviceRedDashboard } from "./serviceRed";
import { traceSearchDashboard } from "./traceSearch";

/**
 * Every dashboard of a stack, in a fixed order: the order names their Pulumi resources
 * (`grafana-dashboard-<i>`), so new dashboards are appended, never inserted. Microservices-mode
 * Tempo adds its own (index 4); monolithic stacks keep exactly the first four.
 */
export function stackDashboards(model: StackTopology): Record<string, unknown>[] {
  const dashboards = [ingestionHealthDashboard(model), serviceRedDashboard(model), serviceGraphDashboard(model), traceSearchDashboard(model)];
  if (model.config.tempo.mode === "microservices") dashboards.push(distributedTempoDashboard(model));
  return dashboards;
}
