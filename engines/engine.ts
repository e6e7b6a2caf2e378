import type * as pulumi from "@pulumi/pulumi";

/** What the program needs from an engine once it has realised the model. */
export interface EngineDeployment {
  /** Everything that must be up before the stack is verified. */
  running: pulumi.Resource[];
  /** Grafana's container or service: its provisioning waits for it. */
  grafana: pulumi.Resource;
  /** Values whose change means a changed stack, which the verification must prove again. */
  triggers: pulumi.Input<string>[];
}
