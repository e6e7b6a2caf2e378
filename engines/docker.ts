/**
 * Engine `docker`: the model on one Docker host. Every instance is a container on the stack's
 * bridge network; each waits for what its links say it needs (model.startsAfter), the rest start
 * together.
 */
import * as pulumi from "@pulumi/pulumi";
import { StackNetwork } from "../components/network";
import { ServiceContainer } from "../components/serviceContainer";
import { ServiceImage } from "../components/serviceImage";
import { imageKey, imageResourceName, singleInstance } from "../model";
import type { InstanceId, StackModel } from "../model";
import type { EngineDeployment } from "./engine";
import type { StackMaterial } from "../components/stackMaterial";

export function deployOnDocker(model: StackModel, material: StackMaterial, projectDir: string): EngineDeployment {
  const network = new StackNetwork("network", { networkName: model.networkName, driver: "bridge" });
  // One image per distinct reference: the app and its backend, and every Tempo container, run one image.
  const images = new Map<string, ServiceImage>();
  for (const service of Object.values(model.services)) {
    const key = imageKey(service.image);
    if (!images.has(key)) images.set(key, new ServiceImage(imageResourceName(service), { image: service.image, projectDir }));
  }
  const containers: Record<InstanceId, ServiceContainer> = {};
  for (const id of model.startOrder) {
    const service = model.services[id]!;
    const image = images.get(imageKey(service.image)) as ServiceImage;
    const upstream = (model.startsAfter[id] ?? []).map((dep) => containers[dep] as ServiceContainer);
    containers[id] = new ServiceContainer(id, { service, imageRef: image.imageRef, networkName: network.name, material }, { dependsOn: upstream });
  }
  const triggers: pulumi.Input<string>[] = [
    ...model.startOrder.map((id) => (containers[id] as ServiceContainer).containerId),
    ...[...images.values()].map((image) => image.imageRef),
  ];
  return {
    running: Object.values(containers),
    grafana: containers[singleInstance(model.services, "grafana").id] as ServiceContainer,
    triggers,
  };
}
