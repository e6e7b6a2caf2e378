import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface SwarmVolumeCleanupArgs {
  stackName: string;
  /** The label every volume of the stack carries (`tracing-stack.stack=<stack>`). */
  volumeLabel: string;
  /** An image on every node with `node` in it (the stack's app image): it runs the cleanup job. */
  image: pulumi.Input<string>;
  /** The manager the provider talks to, when the stack sets `docker:host` (else DOCKER_HOST applies). */
  dockerHost?: string;
}

/**
 * Removes the stack's volumes from every node on `pulumi destroy`. Swarm creates a task's volume on
 * whichever node runs it and never removes it, so only something running on every node can: a
 * global job that asks its node's engine (through the socket, as root) to delete the volumes with
 * the stack's label. Services depend on this resource, so it is deleted after them, once no task
 * holds a volume. `pulumi up` runs nothing here.
 */
export class SwarmVolumeCleanup extends pulumi.ComponentResource {
  constructor(name: string, args: SwarmVolumeCleanupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:SwarmVolumeCleanup", name, {}, opts);
    const job = `${args.stackName}-volume-cleanup`;
    // Lists, then deletes one by one: a volume still in use (a task on a node that was down) stays, and the job fails saying so.
    const script = [
      "const http = require('http');",
      "const call = (method, path) => new Promise((resolve, reject) => { const r = http.request({ socketPath: '/var/run/docker.sock', method, path }, (m) => { let b = ''; m.on('data', (d) => (b += d)); m.on('end', () => resolve({ status: m.statusCode, body: b })); }); r.on('error', reject); r.end(); });",
      `const filters = encodeURIComponent(JSON.stringify({ label: [${JSON.stringify(args.volumeLabel)}] }));`,
      "(async () => { const list = await call('GET', '/volumes?filters=' + filters); for (const v of JSON.parse(list.body).Volumes || []) { const d = await call('DELETE', '/volumes/' + encodeURIComponent(v.Name)); console.log('removed', v.Name, d.status); if (d.status >= 300 && d.status !== 404) { console.error(d.body); process.exitCode = 1; } } })();",
    ].join(" ");
    const remove = pulumi.interpolate`set -eu
docker service rm ${job} >/dev/null 2>&1 || true
docker service create --quiet --detach=false --no-resolve-image --name ${job} --mode global-job --restart-condition none --user 0:0 --label tracing-stack.stack=${args.stackName} --mount type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock --entrypoint node ${args.image} -e ${shellQuote(script)}
docker service rm ${job} >/dev/null`;
    new command.local.Command(
      name,
      {
        create: `echo "on destroy: volumes labelled ${args.volumeLabel} are removed from every node"`,
        delete: remove,
        ...(args.dockerHost ? { environment: { DOCKER_HOST: args.dockerHost } } : {}),
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}
