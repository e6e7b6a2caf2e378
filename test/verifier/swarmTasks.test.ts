import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkSwarmTasks, parseSwarmServices, summarise, swarmDiagnosis, type SwarmReader, type TaskView } from '../../verifier/swarmTasks';

const NODES = { n1: 'swarm-1@10.0.0.1', n2: 'swarm-2@10.0.0.2', n3: 'swarm-3@10.0.0.3' };
const EXPECTED = [
  { name: 'prod-tempo-ingester', tasks: 3 },
  { name: 'prod-otel-collector', tasks: 1 },
];
const task = (service: string, slot: number, node: string, state = 'running', error = ''): TaskView => ({ service, slot, node, desiredState: 'running', state, error });
const HEALTHY = [task('prod-tempo-ingester', 1, 'n1'), task('prod-tempo-ingester', 2, 'n2'), task('prod-tempo-ingester', 3, 'n3'), task('prod-otel-collector', 1, 'n1')];

describe('Swarm services at their desired tasks', () => {
  test('counts running tasks per service and per node, naming nodes by host name and id', () => {
    const summary = summarise(EXPECTED, HEALTHY, NODES);
    assert.deepEqual(summary.services.map((s) => [s.name, s.running, s.desired]), [['prod-tempo-ingester', 3, 3], ['prod-otel-collector', 1, 1]]);
    assert.deepEqual(summary.services[0]!.perNode, { 'swarm-1@10.0.0.1 (n1)': 1, 'swarm-2@10.0.0.2 (n2)': 1, 'swarm-3@10.0.0.3 (n3)': 1 });
    assert.deepEqual(summary.tasksPerNode, { 'swarm-1@10.0.0.1 (n1)': 2, 'swarm-2@10.0.0.2 (n2)': 1, 'swarm-3@10.0.0.3 (n3)': 1 });
    assert.equal(swarmDiagnosis(summary), undefined);
  });

  test('a service short of tasks is SWARM_TASKS_MISSING, with why each missing task does not run', () => {
    const tasks = [
      task('prod-tempo-ingester', 1, 'n1'),
      task('prod-tempo-ingester', 2, 'n2'),
      task('prod-tempo-ingester', 3, '', 'pending', 'no suitable node (max replicas per node limit exceed)'),
      task('prod-otel-collector', 1, 'n1', 'starting'),
    ];
    const diagnosis = swarmDiagnosis(summarise(EXPECTED, tasks, NODES));
    assert.equal(diagnosis?.code, 'SWARM_TASKS_MISSING');
    assert.match(diagnosis!.message, /^2 of 2 Swarm services run fewer tasks than they should: prod-tempo-ingester 2\/3 \[slot 3: pending \(no suitable node \(max replicas per node limit exceed\)\)\], prod-otel-collector 0\/1 \[slot 1: starting\]/);
    assert.deepEqual(diagnosis!.evidence, { 'prod-tempo-ingester': '2/3', 'prod-otel-collector': '0/1' });
  });

  test('a service the swarm does not have at all counts as none running', () => {
    const diagnosis = swarmDiagnosis(summarise(EXPECTED, HEALTHY.filter((t) => t.service !== 'prod-otel-collector'), NODES));
    assert.match(diagnosis!.message, /prod-otel-collector 0\/1/);
  });

  test('polls until every service runs its tasks, and says when it saw them', async () => {
    let now = 0;
    const readings = [HEALTHY.slice(0, 2), HEALTHY.slice(0, 3), HEALTHY];
    const reader: SwarmReader = { nodes: async () => NODES, tasks: async () => readings.shift() ?? HEALTHY };
    const result = await checkSwarmTasks(EXPECTED, reader, { remainingMs: () => 60_000 - now, pause: async (ms) => void (now += ms), pollIntervalMs: 1000, now: () => now });
    assert.equal(result.diagnosis, undefined);
    assert.equal(result.summary.seenAfterMs, 2000);
  });

  test('gives up at the deadline with the diagnosis', async () => {
    let now = 0;
    const reader: SwarmReader = { nodes: async () => NODES, tasks: async () => HEALTHY.slice(1) };
    const result = await checkSwarmTasks(EXPECTED, reader, { remainingMs: () => 5000 - now, pause: async (ms) => void (now += ms), pollIntervalMs: 1000, now: () => now });
    assert.equal(result.diagnosis?.code, 'SWARM_TASKS_MISSING');
    assert.equal(result.summary.seenAfterMs, null);
    assert.ok(now >= 4000 && now <= 5000, `polled until the deadline: ${now}`);
  });

  test('reads the post-deploy step\'s list, and refuses anything else with what it expected', () => {
    assert.deepEqual(parseSwarmServices('prod-tempo-ingester=3, prod-app=1'), [{ name: 'prod-tempo-ingester', tasks: 3 }, { name: 'prod-app', tasks: 1 }]);
    assert.match(String(parseSwarmServices('prod-app')), /"prod-app" is not NAME=TASKS/);
    assert.match(String(parseSwarmServices('prod app=1')), /is not NAME=TASKS/);
    assert.equal(parseSwarmServices(' , '), 'no services given');
  });
});
