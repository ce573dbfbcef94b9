/**
 * The reconciler behind its FIFO queue: a batch of queued EventBridge events is one run, and right after an
 * arrival (registration, instance running) pending nodes are re-checked at short intervals for a bounded window.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { ENV_LABELS, parseControllerConfig } from '../../../functions/core/config.js';
import { ciliumNode, eni, sqsRecord } from '../../support/builders.js';
import { LAB_CLUSTER, LAB_ENI, LAB_NODE, LAB_NODE_IP, LAB_POD_CIDR, LAB_ROUTE_TABLE, fakeLambdaContext, fakeWorld } from '../../support/fakes.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';
const { createHandler, followUpFromEnv } = await import('../../../functions/handlers/reconcile.js');
const { InvalidEventError, parseTriggers } = await import('../../../functions/handlers/events.js');

const sample = (file: string) => JSON.parse(readFileSync(join(process.cwd(), 'events', file), 'utf8')) as Record<string, unknown>;
const config = () => parseControllerConfig({ clusterName: LAB_CLUSTER, region: 'us-west-2', routeTableIds: LAB_ROUTE_TABLE }, ENV_LABELS);

function sqsBatch(bodies: unknown[]) {
  return { Records: bodies.map((body, index) => sqsRecord(typeof body === 'string' ? body : JSON.stringify(body), index)) };
}

describe('parseTriggers', () => {
  test('a single EventBridge event is one trigger', () => {
    expect(parseTriggers(sample('scheduled-reconcile.json')).triggers).toEqual([expect.objectContaining({ kind: 'schedule' })]);
  });

  test('an SQS batch yields one trigger per queued event; non-triggers are dropped and reported', () => {
    const batch = parseTriggers(sqsBatch([sample('ec2-instance-running.json'), '{"not":"an event"}', sample('ssm-managed-instance-registration.json'), 'not json']));
    expect(batch.triggers.map((t) => t.kind)).toEqual(['ec2-state', 'ssm-registration']);
    expect(batch.invalid).toHaveLength(2);
    expect(batch.invalid[0]!.error).toMatch(/detail-type|action/);
  });

  test('a batch with no trigger at all has no triggers and every message listed as invalid (the handler drops it)', () => {
    const batch = parseTriggers(sqsBatch(['{}', 'nope']));
    expect(batch.triggers).toEqual([]);
    expect(batch.invalid.map((entry) => entry.messageId)).toEqual(['00000000-aaaa-4bbb-8ccc-dddddddddddd', '00000001-aaaa-4bbb-8ccc-dddddddddddd']);
    expect(batch.invalid[1]!.error).toMatch(/^invalid event: body: not JSON/);
  });

  test('a batch without messages is an InvalidEventError naming Records', () => {
    expect(() => parseTriggers({ Records: [] })).toThrow(InvalidEventError);
    expect(() => parseTriggers({ Records: [] })).toThrow(/^invalid event: Records: Too small/);
  });

  test('a malformed SQS envelope names the bad field', () => {
    expect(() => parseTriggers({ Records: [{ body: 1 }] })).toThrow(/Records\.0\.|Records\[0\]/);
  });
});

describe('followUpFromEnv', () => {
  test('off by default; seconds from the environment', () => {
    expect(followUpFromEnv({}).windowMs).toBe(0);
    expect(followUpFromEnv({ PENDING_FOLLOW_UP_SECONDS: '180', PENDING_FOLLOW_UP_INTERVAL_SECONDS: '10' })).toMatchObject({ windowMs: 180_000, intervalMs: 10_000 });
  });
  test.each(['-1', 'abc', '1.5'])('a bad window (%s) names the variable', (value) => {
    expect(() => followUpFromEnv({ PENDING_FOLLOW_UP_SECONDS: value })).toThrow(/PENDING_FOLLOW_UP_SECONDS/);
  });
});

describe('the handler behind the queue', () => {
  test('a batch of several events is ONE reconcile run', async () => {
    const world = fakeWorld();
    const handler = createHandler({ loadConfig: config, createDeps: async () => world.deps });
    const result = (await handler(sqsBatch([sample('ec2-instance-running.json'), sample('scheduled-reconcile.json'), sample('ssm-managed-instance-registration.json')]), fakeLambdaContext())) as Record<string, any>;
    expect(result.status).toBe('ok');
    expect(world.kubernetes.calls.filter((call) => call.method === 'listCiliumNodes')).toHaveLength(1);
    expect(world.ec2.mutations()).toEqual(expect.arrayContaining([expect.objectContaining({ method: 'createRoute', args: [LAB_ROUTE_TABLE, LAB_POD_CIDR, LAB_ENI] })]));
  });

  test('after a registration, a pending node is re-checked until its CIDR appears, then routed', async () => {
    const pendingNode = ciliumNode(LAB_NODE, LAB_NODE_IP, []);
    const world = fakeWorld({ nodes: [pendingNode] });
    const sleeps: number[] = [];
    const sleep = jest.fn(async (ms: number) => {
      sleeps.push(ms);
      // The Cilium operator allocates the CIDR during the second wait.
      if (sleeps.length === 2) world.kubernetes.nodes = [ciliumNode(LAB_NODE, LAB_NODE_IP, [LAB_POD_CIDR])];
    });
    const handler = createHandler({ loadConfig: config, createDeps: async () => world.deps, followUp: { windowMs: 180_000, intervalMs: 10_000, sleep } });
    const result = (await handler(sample('ssm-managed-instance-registration.json'), fakeLambdaContext({ getRemainingTimeInMillis: () => 290_000 }))) as Record<string, any>;
    expect(sleeps).toEqual([10_000, 10_000]);
    expect(result.pending).toEqual([]);
    expect(world.ec2.mutations()).toEqual(expect.arrayContaining([expect.objectContaining({ method: 'createRoute', args: [LAB_ROUTE_TABLE, LAB_POD_CIDR, LAB_ENI] })]));
  });

  test('after an instance starts at a node\'s address (replaced under the same name), the node is re-checked until its kubelet reports there, then routed', async () => {
    const created = '2026-11-01T08:00:00Z';
    const world = fakeWorld({
      nodes: [ciliumNode(LAB_NODE, LAB_NODE_IP, [LAB_POD_CIDR], { createdAt: created })],
      interfaces: [eni(LAB_ENI, LAB_NODE_IP, { sourceDestCheck: true, attachTime: new Date(Date.now() - 60_000).toISOString() })],
    });
    // The Node is there from before; its kubelet last reported before this machine came.
    world.kubernetes.nodeStatuses.set(LAB_NODE, { state: 'found', internalIps: [LAB_NODE_IP], readyHeartbeat: '2026-11-30T00:00:00.000Z' });
    const sleeps: number[] = [];
    const sleep = jest.fn(async (ms: number) => {
      sleeps.push(ms);
      // The kubelet on the new machine posts its status during the first wait.
      world.kubernetes.nodeStatuses.set(LAB_NODE, { state: 'found', internalIps: [LAB_NODE_IP], readyHeartbeat: new Date().toISOString() });
    });
    const handler = createHandler({ loadConfig: config, createDeps: async () => world.deps, followUp: { windowMs: 180_000, intervalMs: 10_000, sleep } });
    const result = (await handler(sample('ec2-instance-running.json'), fakeLambdaContext({ getRemainingTimeInMillis: () => 290_000 }))) as Record<string, any>;
    expect(sleeps).toEqual([10_000]);
    expect(result.unresolved).toEqual([]);
    expect(world.ec2.mutations()).toEqual(expect.arrayContaining([expect.objectContaining({ method: 'createRoute', args: [LAB_ROUTE_TABLE, LAB_POD_CIDR, LAB_ENI] })]));
  });

  test('the follow-up stops when the window would be exceeded, leaving the node pending', async () => {
    const world = fakeWorld({ nodes: [ciliumNode(LAB_NODE, LAB_NODE_IP, [])] });
    const sleep = jest.fn(async (_ms: number) => {});
    let clock = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    sleep.mockImplementation(async (ms: number) => {
      clock += ms;
    });
    const handler = createHandler({ loadConfig: config, createDeps: async () => world.deps, followUp: { windowMs: 35_000, intervalMs: 10_000, sleep } });
    const result = (await handler(sample('ssm-managed-instance-registration.json'), fakeLambdaContext({ getRemainingTimeInMillis: () => 290_000 }))) as Record<string, any>;
    expect(sleep).toHaveBeenCalledTimes(3);
    expect(result.pending).toEqual([{ node: LAB_NODE, ip: LAB_NODE_IP }]);
  });

  test('the follow-up never runs past the Lambda time left', async () => {
    const world = fakeWorld({ nodes: [ciliumNode(LAB_NODE, LAB_NODE_IP, [])] });
    const sleep = jest.fn(async (_ms: number) => {});
    const handler = createHandler({ loadConfig: config, createDeps: async () => world.deps, followUp: { windowMs: 180_000, intervalMs: 10_000, sleep } });
    await handler(sample('ssm-managed-instance-registration.json'), fakeLambdaContext({ getRemainingTimeInMillis: () => 35_000 }));
    expect(sleep).not.toHaveBeenCalled();
  });

  test.each([['scheduled-reconcile.json'], ['ec2-instance-terminated.json'], ['direct-plan.json']])('no follow-up for %s (not an arrival)', async (file) => {
    const world = fakeWorld({ nodes: [ciliumNode(LAB_NODE, LAB_NODE_IP, [])] });
    const sleep = jest.fn(async (_ms: number) => {});
    const handler = createHandler({ loadConfig: config, createDeps: async () => world.deps, followUp: { windowMs: 180_000, intervalMs: 10_000, sleep } });
    await handler(sample(file), fakeLambdaContext({ getRemainingTimeInMillis: () => 290_000 }));
    expect(sleep).not.toHaveBeenCalled();
  });
});
