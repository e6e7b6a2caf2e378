/**
 * Building blocks the stack's dashboards share: datasource references by fixed uid, Prometheus time
 * series panels, and the uid scheme. Built with Grafana's foundation SDK, like every dashboard here.
 */
import { DashboardBuilder, DashboardCursorSync, DashboardLinkBuilder, DashboardLinkType } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder as PrometheusQuery } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";
import type { StackTopology } from "../../../model/types";
import { DATASOURCE_UIDS } from "../datasources";

export const prometheusDatasource = { type: "prometheus", uid: DATASOURCE_UIDS.prometheus };
export const tempoDatasource = { type: "tempo", uid: DATASOURCE_UIDS.tempo };

/** Grafana dashboard uids are at most 40 characters; the stack name keeps stacks' dashboards apart. */
export function dashboardUid(prefix: string, model: StackTopology): string {
  return `${prefix}-${model.config.stackName}`.slice(0, 40);
}

/** Every dashboard of a stack: tagged with the stack, 30 minutes, refreshed every 10 s, linked to the others. */
export function stackDashboard(title: string, uidPrefix: string, model: StackTopology): DashboardBuilder {
  return new DashboardBuilder(`${title} (${model.config.stackName})`)
    .uid(dashboardUid(uidPrefix, model))
    .tags(["tracing-stack", model.config.stackName])
    .refresh("10s")
    .time({ from: "now-30m", to: "now" })
    .tooltip(DashboardCursorSync.Crosshair)
    .link(
      new DashboardLinkBuilder("Tracing stack dashboards")
        .type(DashboardLinkType.Dashboards)
        .tags(["tracing-stack", model.config.stackName])
        .asDropdown(true)
        .keepTime(true)
        .includeVars(true),
    );
}

export interface PromQuery {
  expr: string;
  legend: string;
  /** Points carry the trace ids behind them (Tempo's generator sends exemplars). */
  exemplars?: boolean;
}

export interface PromPanel {
  title: string;
  description: string;
  queries: PromQuery[];
  unit?: string;
  width?: number;
}

export function prometheusPanel(panel: PromPanel): TimeseriesPanel {
  const builder = new TimeseriesPanel()
    .title(panel.title)
    .description(panel.description)
    .datasource(prometheusDatasource)
    .height(8)
    .span(panel.width ?? 12);
  if (panel.unit) builder.unit(panel.unit);
  panel.queries.forEach((q, i) => {
    builder.withTarget(
      new PrometheusQuery()
        .expr(q.expr)
        .legendFormat(q.legend)
        .exemplar(q.exemplars === true)
        .refId(String.fromCharCode(65 + i)),
    );
  });
  return builder;
}

/** `rate` window of every panel: four generator collections (10 s) and Prometheus scrapes. */
export const RATE_WINDOW = "1m";

/** A double-quoted PromQL / TraceQL string literal: label values are user-chosen service names. */
export function quoted(value: string): string {
  return JSON.stringify(value);
}
