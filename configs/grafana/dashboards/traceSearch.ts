import { CustomVariableBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { PanelBuilder as TablePanel } from "@grafana/grafana-foundation-sdk/table";
import { TempoQueryBuilder } from "@grafana/grafana-foundation-sdk/tempo";
import type { StackTopology } from "../../../model/types";
import { quoted, stackDashboard, tempoDatasource } from "./panels";

export const TRACE_SEARCH_DASHBOARD_UID_PREFIX = "tracing-search";
/** The dashboard variable the RED panels' links set (`var-service=`). */
export const SERVICE_VARIABLE = "service";

interface TraceSearch {
  title: string;
  description: string;
  traceql: string;
}

function searchPanel(search: TraceSearch): TablePanel {
  return new TablePanel()
    .title(search.title)
    .description(search.description)
    .datasource(tempoDatasource)
    .withTarget(new TempoQueryBuilder().queryType("traceql").query(search.traceql).limit(20).refId("A"))
    .height(10)
    .span(24);
}

/**
 * TraceQL searches of the stack's services; open a row to see the trace. `$service` is chosen at
 * the top, or set by a link from the Service RED dashboard.
 */
export function traceSearchDashboard(model: StackTopology): Record<string, unknown> {
  const { appServiceName, appBackendServiceName } = model.config;
  const service = `resource.service.name = "$${SERVICE_VARIABLE}"`;
  const builder = stackDashboard("Trace search", TRACE_SEARCH_DASHBOARD_UID_PREFIX, model).withVariable(
    new CustomVariableBuilder(SERVICE_VARIABLE)
      .label("Service")
      .values([appServiceName, appBackendServiceName].join(","))
      .current({ text: appServiceName, value: appServiceName }),
  );
  const searches: TraceSearch[] = [
    { title: "Traces of $service", description: "The most recent traces with a span of the chosen service.", traceql: `{ ${service} }` },
    {
      title: "Failed requests of $service",
      description: "Traces where the chosen service has a span with status ERROR (the app's ?fail=1 requests fail on purpose).",
      traceql: `{ ${service} && status = error }`,
    },
    {
      title: `${appServiceName} calling ${appBackendServiceName}`,
      description: "Traces that cross both services: a span of the backend below a span of the app (the service graph's edge).",
      traceql: `{ resource.service.name = ${quoted(appServiceName)} } >> { resource.service.name = ${quoted(appBackendServiceName)} }`,
    },
  ];
  for (const search of searches) builder.withPanel(searchPanel(search));
  return builder.build() as unknown as Record<string, unknown>;
}
