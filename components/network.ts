import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface StackNetworkArgs {
  networkName: string;
}

/** The stack's own bridge network: service aliases resolve only inside it, so stacks never collide. */
export class StackNetwork extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: StackNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:StackNetwork", name, {}, opts);
    const network = new docker.Network(
      name,
      { name: args.networkName, driver: "bridge", labels: [{ label: "tracing-stack.network", value: args.networkName }] },
      { parent: this },
    );
    this.name = network.name;
    this.registerOutputs({ name: this.name });
  }
}
