import type { StackTopology } from "../../../model/types";
import { ingestionHealthDashboard } from "./ingestionHealth";
import { serviceGraphDashboard } from "./serviceGraph";
import { serviceRedDashboard } from "./serviceRed";
import { traceSearchDashboard } from "./traceSearch";

/**
 * Every dashboard of a stack, in a fixed order: the order names their Pulumi resources
 * (`grafana-dashboard-<i>`), so new dashboards are appended, never inserted.
 */
export function stackDashboards(model: StackTopology): Record<string, unknown>[] {
  return [ingestionHealthDashboard(model), serviceRedDashboard(model), serviceGraphDashboard(model), traceSearchDashboard(model)];
}
