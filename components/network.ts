import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface StackNetworkArgs {
  networkName: string;
  /** `bridge` on one Docker host; `overlay` across a swarm's nodes. */
  driver: "bridge" | "overlay";
  /** Overlay only: standalone containers (a debugging shell, a user's service) may join it. */
  attachable?: boolean;
  /** No route out of the network (and no docker_gwbridge leg on its Swarm tasks). */
  internal?: boolean;
  /** Driver options, e.g. `encrypted` for an overlay whose VXLAN traffic is IPsec-encrypted. */
  options?: Record<string, string>;
}

/** The stack's own network: service aliases resolve only inside it, so stacks never collide. */
export class StackNetwork extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  /** Swarm services name their networks by id (the manager stores ids): naming it so keeps plans clean. */
  readonly id: pulumi.Output<string>;

  constructor(name: string, args: StackNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:StackNetwork", name, {}, opts);
    const network = new docker.Network(
      name,
      {
        name: args.networkName,
        driver: args.driver,
        ...(args.attachable ? { attachable: true } : {}),
        ...(args.internal ? { internal: true } : {}),
        ...(args.options && Object.keys(args.options).length > 0 ? { options: args.options } : {}),
        labels: [{ label: "tracing-stack.network", value: args.networkName }],
      },
      // A fixed name: the replacement cannot be created before the old network is gone.
      { parent: this, deleteBeforeReplace: true },
    );
    this.name = network.name;
    this.id = network.id;
    this.registerOutputs({ name: this.name, id: this.id });
  }
}
