/**
 * The renderers' entry point: the model declares which config file goes where (`config` contents);
 * this writes each one from the model with its renderer. Layers point one way: the model knows no
 * renderer, the engines and components only ever see rendered text.
 */
import type { ContainerFile, InstanceId, RenderedConfigKind, ServiceModel, StackModel, StackTopology } from "../model";
import { renderCollectorConfig } from "./collector/collectorConfig";
import { renderPrometheusConfig, renderPrometheusWebConfig } from "./prometheus/prometheusConfig";
import { renderTempoConfig } from "./tempo/tempoConfig";

const RENDERERS: Record<RenderedConfigKind, (topology: StackTopology) => string> = {
  tempo: renderTempoConfig,
  collector: renderCollectorConfig,
  prometheus: renderPrometheusConfig,
  prometheusWeb: renderPrometheusWebConfig,
};

/** The text of one config the model declares. */
export function renderConfig(model: StackTopology, config: RenderedConfigKind): string {
  return RENDERERS[config](model);
}

function rendered(model: StackModel, file: ContainerFile): ContainerFile {
  return file.content.kind === "config" ? { ...file, content: { kind: "text", text: renderConfig(model, file.content.config) } } : file;
}

/** The model with every declared config file rendered to text: what the engines deploy. */
export function renderStackConfigs(model: StackModel): StackModel {
  const services: Record<InstanceId, ServiceModel> = {};
  for (const [id, service] of Object.entries(model.services)) {
    services[id] = { ...service, files: service.files.map((file) => rendered(model, file)) };
  }
  return { ...model, services };
}
