import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface SwarmVolumeCleanupArgs {
  stackName: string;
  /** The label every volume of the stack carries (`tracing-stack.stack=<stack>`). */
  volumeLabel: string;
  /** An image on every node with `node` in it (the stack's app image): it runs the cleanup jobs. */
  image: pulumi.Input<string>;
  /** Where each node's engine socket is, as a Swarm mount source (templates such as {{.Node.Hostname}} allowed). */
  engineSocket: string;
  /** The manager the provider talks to, when the stack sets `docker:host` (else DOCKER_HOST applies). */
  dockerHost?: string;
}

/** A Node.js program run by a job on every node: Engine API calls over the mounted socket. */
function nodeProgram(body: string): string {
  return [
    "const http = require('http');",
    "const call = (method, path) => new Promise((resolve, reject) => { const r = http.request({ socketPath: '/var/run/docker.sock', method, path }, (m) => { let b = ''; m.on('data', (d) => (b += d)); m.on('end', () => resolve({ status: m.statusCode, body: b })); }); r.on('error', reject); r.end(); });",
    "const filter = (f) => encodeURIComponent(JSON.stringify(f));",
    `(async () => { ${body} })().catch((e) => { console.error(e.message); process.exitCode = 1; });`,
  ].join(" ");
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * Removes the stack's volumes from every node on `pulumi destroy`. Swarm creates a task's volume on
 * whichever node runs it and never removes it, so only something running on every node can: a
 * global job that asks its node's engine (through the socket, as root) to delete the volumes with
 * the stack's label. Services depend on this resource, so it is deleted after them, once no task
 * holds a volume. Swarm leaves a finished job's containers behind, so a second job removes the
 * first one's and then itself. `pulumi up` runs nothing here.
 */
export class SwarmVolumeCleanup extends pulumi.ComponentResource {
  constructor(name: string, args: SwarmVolumeCleanupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:SwarmVolumeCleanup", name, {}, opts);
    const job = `${args.stackName}-volume-cleanup`;
    const sweep = `${job}-sweep`;
    // The manager returns once its own node's containers are gone; other nodes remove theirs a few
    // seconds later, and a volume is "in use" (409) until then: retried for up to two minutes,
    // after which the job fails saying which volume and which container holds it.
    const removeVolumes = nodeProgram(
      "const until = Date.now() + 120000; " +
        `for (;;) { const list = await call('GET', '/volumes?filters=' + filter({ label: { ${JSON.stringify(args.volumeLabel)}: true } })); ` +
        "const left = []; " +
        "for (const v of JSON.parse(list.body).Volumes || []) { const d = await call('DELETE', '/volumes/' + encodeURIComponent(v.Name)); if (d.status < 300 || d.status === 404) console.log('removed volume', v.Name); else left.push(v.Name + ': ' + d.body.trim()); } " +
        "if (left.length === 0) break; " +
        "if (Date.now() > until) { console.error('not removed: ' + left.join('; ')); process.exitCode = 1; break; } " +
        "await new Promise((r) => setTimeout(r, 2000)); }",
    );
    const removeJobContainers = nodeProgram(
      `const list = await call('GET', '/containers/json?all=1&filters=' + filter({ label: { ${JSON.stringify(`com.docker.swarm.service.name=${job}`)}: true } })); ` +
        "for (const c of JSON.parse(list.body)) await call('DELETE', '/containers/' + c.Id + '?force=1'); " +
        "await call('DELETE', '/containers/' + require('os').hostname() + '?force=1');",
    );
    const common = `--no-resolve-image --mode global-job --restart-condition none --user 0:0 --label tracing-stack.stack=${args.stackName} --mount type=bind,source=${args.engineSocket},target=/var/run/docker.sock --entrypoint node`;
    // Waited for here, not with --detach=false: the CLI waits for ever on a job one of whose tasks failed.
    const remove = pulumi.interpolate`set -eu
active='^(New|Pending|Assigned|Accepted|Preparing|Ready|Starting|Running)'
docker service rm ${job} ${sweep} >/dev/null 2>&1 || true
docker service create --quiet --detach=true --name ${job} ${common} ${args.image} -e ${shellQuote(removeVolumes)} >/dev/null
for _ in $(seq 1 180); do docker service ps --format '{{.CurrentState}}' ${job} | grep -qE "$active" || break; sleep 1; done
docker service logs --raw ${job} 2>&1 || true
failed=$(docker service ps --format '{{.CurrentState}}' ${job} | grep -cvE '^Complete' || true)
docker service rm ${job} >/dev/null
docker service create --quiet --detach=true --name ${sweep} ${common} ${args.image} -e ${shellQuote(removeJobContainers)} >/dev/null
for _ in $(seq 1 30); do docker service ps --format '{{.CurrentState}}' ${sweep} | grep -qE "$active" || break; sleep 1; done
sleep 2
docker service rm ${sweep} >/dev/null
if [ "$failed" != 0 ]; then echo "the volume cleanup did not complete on $failed node(s): see its output above" >&2; exit 1; fi`;
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
