/**
 * Engine swarm: every service of the stack has its desired number of running tasks. Read from the
 * manager's Engine API (DOCKER_HOST, with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH for a remote one,
 * as the docker CLI reads them) through dockerode.
 */
import type Docker from 'dockerode';
import type { Diagnosis } from './diagnose';

export interface ExpectedService {
  name: string;
  tasks: number;
}

/** One task as the manager reports it. */
export interface TaskView {
  service: string;
  slot: number;
  node: string;
  desiredState: string;
  state: string;
  /** Docker's message for a task not running (e.g. "no suitable node (max replicas per node limit exceed)"). */
  error: string;
}

/** What the check needs from a swarm: its nodes' names and the tasks of the given services. */
export interface SwarmReader {
  /** node id -> the node's host name (several engines on one machine share it) and address */
  nodes(): Promise<Record<string, string>>;
  tasks(services: string[]): Promise<TaskView[]>;
}

export interface ServiceTasks {
  name: string;
  desired: number;
  running: number;
  /** running tasks per node */
  perNode: Record<string, number>;
  /** why tasks that should run do not (distinct messages) */
  notRunning: string[];
}

export interface SwarmSummary {
  services: ServiceTasks[];
  /** running tasks of the stack per node */
  tasksPerNode: Record<string, number>;
  seenAfterMs: number | null;
}

/**
 * Reads the swarm the Docker CLI would talk to (DOCKER_HOST or the local socket). dockerode (and
 * its SSH stack) is loaded only here, so a verification without a swarm does not pay for it.
 */
export function dockerSwarmReader(given?: Docker): SwarmReader {
  let client: Promise<Docker> | undefined;
  const connect = (): Promise<Docker> => (client ??= given ? Promise.resolve(given) : import('dockerode').then((m) => new m.default()));
  return {
    async nodes() {
      const docker = await connect();
      const nodes = await docker.listNodes();
      return Object.fromEntries(nodes.map((n) => [n.ID ?? '', `${n.Description?.Hostname ?? '?'}@${n.Status?.Addr ?? '?'}`]));
    },
    async tasks(services) {
      const docker = await connect();
      const views: TaskView[] = [];
      for (const name of services) {
        // A service the swarm does not have (404) runs no task: the summary counts it as 0 running.
        const inspect = (await docker.getService(name).inspect().catch((err: { statusCode?: number }) => {
          if (err.statusCode === 404) return undefined;
          throw err;
        })) as { ID?: string } | undefined;
        if (!inspect?.ID) continue;
        const tasks = await docker.listTasks({ filters: JSON.stringify({ service: [inspect.ID], 'desired-state': ['running'] }) });
        for (const t of tasks) {
          views.push({
            service: name,
            slot: t.Slot ?? 0,
            node: t.NodeID ?? '',
            desiredState: t.DesiredState ?? '',
            state: t.Status?.State ?? '',
            error: t.Status?.Err ?? (t.Status?.State === 'running' ? '' : (t.Status?.Message ?? '')),
          });
        }
      }
      return views;
    },
  };
}

/** The services' running tasks, per service and per node. */
export function summarise(expected: ExpectedService[], tasks: TaskView[], nodes: Record<string, string>): Omit<SwarmSummary, 'seenAfterMs'> {
  const nodeName = (id: string): string => (id === '' ? 'unassigned' : `${nodes[id] ?? 'node'} (${id.slice(0, 12)})`);
  const tasksPerNode: Record<string, number> = {};
  const services = expected.map((service) => {
    const mine = tasks.filter((t) => t.service === service.name && t.desiredState === 'running');
    const running = mine.filter((t) => t.state === 'running');
    const perNode: Record<string, number> = {};
    for (const t of running) {
      perNode[nodeName(t.node)] = (perNode[nodeName(t.node)] ?? 0) + 1;
      tasksPerNode[nodeName(t.node)] = (tasksPerNode[nodeName(t.node)] ?? 0) + 1;
    }
    const notRunning = [...new Set(mine.filter((t) => t.state !== 'running').map((t) => `slot ${t.slot}: ${t.state}${t.error ? ` (${t.error})` : ''}`))];
    return { name: service.name, desired: service.tasks, running: running.length, perNode, notRunning };
  });
  return { services, tasksPerNode };
}

export function swarmDiagnosis(summary: Omit<SwarmSummary, 'seenAfterMs'>): Diagnosis | undefined {
  const short = summary.services.filter((s) => s.running < s.desired);
  if (short.length === 0) return undefined;
  return {
    code: 'SWARM_TASKS_MISSING',
    message:
      `${short.length} of ${summary.services.length} Swarm services run fewer tasks than they should: ` +
      short.map((s) => `${s.name} ${s.running}/${s.desired}${s.notRunning.length > 0 ? ` [${s.notRunning.join('; ')}]` : ''}`).join(', ') +
      '. `docker service ps --no-trunc <service>` on a manager shows each task\'s history.',
    configKeys: ['the swarm\'s nodes (`docker node ls`: Ready and Active)', 'tempo.replicas.ingester: ingesters run at most one per node', 'the images on every node (or a registry they can pull from)'],
    evidence: Object.fromEntries(short.map((s) => [s.name, `${s.running}/${s.desired}`])),
  };
}

/**
 * Polls until every service runs its desired tasks or the time is up. Tasks restart and move
 * while a swarm settles: a short wait is normal, a missing task at the deadline is a finding.
 */
export async function checkSwarmTasks(
  expected: ExpectedService[],
  reader: SwarmReader,
  opts: { remainingMs: () => number; pause: (ms: number) => Promise<void>; pollIntervalMs: number; now: () => number },
): Promise<{ summary: SwarmSummary; diagnosis?: Diagnosis }> {
  const started = opts.now();
  const names = expected.map((s) => s.name);
  for (;;) {
    const [nodes, tasks] = await Promise.all([reader.nodes(), reader.tasks(names)]);
    const summary = summarise(expected, tasks, nodes);
    const diagnosis = swarmDiagnosis(summary);
    if (!diagnosis) return { summary: { ...summary, seenAfterMs: opts.now() - started } };
    if (opts.remainingMs() <= opts.pollIntervalMs) return { summary: { ...summary, seenAfterMs: null }, diagnosis };
    await opts.pause(opts.pollIntervalMs);
  }
}

/** `name=tasks,name=tasks` as the post-deploy step passes it (VERIFY_SWARM_SERVICES). */
export function parseSwarmServices(text: string): ExpectedService[] | string {
  const services: ExpectedService[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(\d{1,3})$/.exec(entry);
    if (!match) return `"${entry}" is not NAME=TASKS (e.g. e2eswarm-tempo-ingester=3)`;
    services.push({ name: match[1]!, tasks: Number(match[2]) });
  }
  return services.length > 0 ? services : 'no services given';
}
