import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { captureProcessOutput } from '../../support/process-output.js';
import { type ControllerConfig, ENV_LABELS, parseControllerConfig } from '../../../functions/core/config.js';
import { ConfigError } from '../../../functions/core/errors.js';
import type { ControllerDeps } from '../../../functions/service/dependencies.js';
import { REMOTE_VPC, ciliumNode, eni, factsNode, foreignRoutes, route, sqsRecord, table } from '../../support/builders.js';
import {
  FAKE_BEARER_TOKEN,
  LAB_CLUSTER,
  LAB_ENI,
  LAB_NODE,
  LAB_NODE_IP,
  LAB_POD_CIDR,
  LAB_ROUTE_TABLE,
  type FakeWorld,
  InstrumentedEc2,
  fakeLambdaContext,
  fakeWorld,
} from '../../support/fakes.js';

// Powertools reads its environment when the singletons are built, so it is set before the handler module
// is imported: JSON lines on stdout (not dev mode), metrics on, INFO level.
delete process.env.POWERTOOLS_DEV;
delete process.env.POWERTOOLS_METRICS_DISABLED;
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
const { createHandler, describeRegistrations, handler: deployedHandler } = await import('../../../functions/handlers/reconcile.js');
const { InvalidEventError } = await import('../../../functions/handlers/events.js');

type Handler = ReturnType<typeof createHandler>;
type Json = Record<string, any>;

const EVENTS_DIR = join(process.cwd(), 'events');
const SAMPLE_FILES = [
  'ec2-instance-running.json',
  'ec2-instance-terminated.json',
  'ssm-managed-instance-registration.json',
  'ssm-managed-instance-deregistration.json',
  'scheduled-reconcile.json',
  'direct-plan.json',
  'direct-reconcile.json',
];

function sample(file: string): Json {
  return JSON.parse(readFileSync(join(EVENTS_DIR, file), 'utf8')) as Json;
}

function labConfig(): ControllerConfig {
  return parseControllerConfig({ clusterName: LAB_CLUSTER, region: 'us-west-2', routeTableIds: LAB_ROUTE_TABLE }, ENV_LABELS);
}

const output = captureProcessOutput();
const { lines, logLines } = output;
const summaries = () => logLines('reconcile run');

/** The EMF blob with the run's metrics (the cold-start metric comes in a blob of its own). */
function runMetrics(): Json {
  const blobs = lines().filter((line) => '_aws' in line && 'FailedMutations' in line);
  expect(blobs).toHaveLength(1);
  return blobs[0]!;
}

function metricUnits(blob: Json): Record<string, string> {
  const definitions = blob._aws.CloudWatchMetrics[0].Metrics as { Name: string; Unit: string }[];
  return Object.fromEntries(definitions.map((definition) => [definition.Name, definition.Unit]));
}

interface Harness {
  world: FakeWorld;
  handler: Handler;
  loadConfig: jest.Mock<() => ControllerConfig>;
  createDeps: jest.Mock<(config: ControllerConfig) => Promise<ControllerDeps>>;
  invoke(event: unknown): Promise<Json>;
}

function harness(world: FakeWorld = fakeWorld()): Harness {
  const loadConfig = jest.fn(labConfig);
  const createDeps = jest.fn(async (_config: ControllerConfig) => world.deps);
  const handler = createHandler({ loadConfig, createDeps });
  return { world, handler, loadConfig, createDeps, invoke: async (event) => (await handler(event, fakeLambdaContext())) as Json };
}

const CONVERGING_MUTATIONS = [
  { method: 'disableSourceDestCheck', args: [LAB_ENI] },
  { method: 'createRoute', args: [LAB_ROUTE_TABLE, LAB_POD_CIDR, LAB_ENI] },
];

describe('every sample event runs the reconciler', () => {
  test.each(SAMPLE_FILES.filter((file) => file !== 'direct-plan.json'))('%s converges the lab, and a second run changes nothing', async (file) => {
    const { world, invoke } = harness();

    const first = await invoke(sample(file));

    expect(first).toEqual({
      status: 'ok',
      mode: 'apply',
      counts: expect.objectContaining({ create: 1, replace: 0, delete: 0, keep: 0, drift: 1, sourceDestCheckFixes: 1, failedMutations: 0 }),
      pending: [],
      unresolved: [],
      vetoed: 0,
    });
    expect(world.ec2.mutations()).toEqual(CONVERGING_MUTATIONS);
    const lab = world.ec2.tables.find((candidate) => candidate.routeTableId === LAB_ROUTE_TABLE)!;
    expect(lab.routes).toContainEqual(route.managed(LAB_POD_CIDR, LAB_ENI));
    expect(world.ec2.interfaces[0]!.sourceDestCheck).toBe(false);

    const second = await invoke(sample(file));

    expect(second).toMatchObject({ status: 'ok', counts: { create: 0, keep: 1, drift: 0, sourceDestCheckFixes: 0 } });
    expect(world.ec2.mutations()).toEqual(CONVERGING_MUTATIONS);
  });

  test('direct-plan.json reports what apply would do and changes nothing', async () => {
    const { world, invoke } = harness();

    const result = await invoke(sample('direct-plan.json'));

    expect(result).toMatchObject({ status: 'ok', mode: 'plan', counts: { create: 1, drift: 1, sourceDestCheckFixes: 1 } });
    expect(world.ec2.mutations()).toEqual([]);
    expect(world.ec2.calls.map((call) => call.method).sort()).toEqual(['describeRouteTables', 'findNetworkInterfaces']);
    const [summary] = summaries();
    expect(summary).toMatchObject({ mode: 'plan', trigger: { kind: 'direct', mode: 'plan' } });
    expect(summary!.actions).toEqual([expect.objectContaining({ action: 'create', destination: LAB_POD_CIDR, target: LAB_ENI })]);
    expect(summary!.applied).toBeUndefined();
    // A dry run creates nothing, so it counts nothing as created.
    expect(runMetrics()).toMatchObject({ RoutesCreated: 0, SourceDestCheckFixed: 0, Drift: 1 });
    // Nor does it report changes left unstarted: its 0 would pull down the minimum the UnfinishedRuns alarm watches.
    expect(runMetrics()).not.toHaveProperty('MutationsNotStarted');
  });
});

describe('configuration and clients', () => {
  test('are created once per container, on the first invocation', async () => {
    const { loadConfig, createDeps, invoke } = harness();
    expect(loadConfig).not.toHaveBeenCalled();

    await invoke(sample('scheduled-reconcile.json'));
    await invoke(sample('direct-reconcile.json'));

    expect(loadConfig).toHaveBeenCalledTimes(1);
    expect(createDeps).toHaveBeenCalledTimes(1);
    expect(createDeps).toHaveBeenCalledWith(expect.objectContaining({ clusterName: LAB_CLUSTER }));
  });

  test('a configuration error fails the invocation and is not remembered', async () => {
    const world = fakeWorld();
    const loadConfig = jest
      .fn<() => ControllerConfig>()
      .mockImplementationOnce(() => {
        throw new ConfigError('CLUSTER_NAME', 'is required');
      })
      .mockImplementation(labConfig);
    const createDeps = jest.fn(async (_config: ControllerConfig) => world.deps);
    const handler = createHandler({ loadConfig, createDeps });

    await expect(handler(sample('scheduled-reconcile.json'), fakeLambdaContext())).rejects.toThrow('CLUSTER_NAME: is required');
    expect(createDeps).not.toHaveBeenCalled();
    expect(world.allCalls()).toEqual([]);
    expect(logLines()).toContainEqual(expect.objectContaining({ level: 'ERROR', error: expect.objectContaining({ name: 'ConfigError' }) }));
    expect(lines().filter((line) => '_aws' in line && !('ColdStart' in line))).toEqual([expect.objectContaining({ SetupFailures: 1 })]);

    await expect(handler(sample('scheduled-reconcile.json'), fakeLambdaContext())).resolves.toMatchObject({ status: 'ok' });
    expect(loadConfig).toHaveBeenCalledTimes(2);
    expect(createDeps).toHaveBeenCalledTimes(1);
  });

  test('a POD_NETWORKS outside the cluster fails as a set-up fault that names the variable, and changes nothing', async () => {
    const world = fakeWorld();
    const narrowed = () =>
      parseControllerConfig({ clusterName: LAB_CLUSTER, region: 'us-west-2', routeTableIds: LAB_ROUTE_TABLE, podNetworks: '10.30.0.0/17,10.40.0.0/16' }, ENV_LABELS);
    const handler = createHandler({ loadConfig: narrowed, createDeps: async () => world.deps });

    await expect(handler(sample('scheduled-reconcile.json'), fakeLambdaContext())).rejects.toThrow(/^POD_NETWORKS\[1\]: 10\.40\.0\.0\/16 is not inside the cluster's networks/);

    expect(world.ec2.mutations()).toEqual([]);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: "the configured scope does not fit the cluster's networks; nothing was changed", field: 'POD_NETWORKS[1]' }),
    );
    expect(logLines('reconcile run failed')).toEqual([]);
    expect(lines().filter((line) => '_aws' in line && !('ColdStart' in line))).toEqual([expect.objectContaining({ SetupFailures: 1 })]);
  });

  test('the deployed handler reads its configuration from the environment, under the variable names', async () => {
    const saved = { CLUSTER_NAME: process.env.CLUSTER_NAME, ROUTE_TABLE_IDS: process.env.ROUTE_TABLE_IDS };
    delete process.env.CLUSTER_NAME;
    process.env.ROUTE_TABLE_IDS = LAB_ROUTE_TABLE;
    try {
      await expect(deployedHandler(sample('scheduled-reconcile.json'), fakeLambdaContext())).rejects.toThrow('CLUSTER_NAME: is required');
      process.env.CLUSTER_NAME = 'not a cluster name!';
      await expect(deployedHandler(sample('scheduled-reconcile.json'), fakeLambdaContext())).rejects.toThrow(/^CLUSTER_NAME: must be an EKS cluster name/);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('a failure to create the clients is not remembered either', async () => {
    const world = fakeWorld();
    const createDeps = jest
      .fn<(config: ControllerConfig) => Promise<ControllerDeps>>()
      .mockRejectedValueOnce(new Error('Region is missing'))
      .mockResolvedValue(world.deps);
    const handler = createHandler({ loadConfig: labConfig, createDeps });

    await expect(handler(sample('scheduled-reconcile.json'), fakeLambdaContext())).rejects.toThrow('Region is missing');
    await expect(handler(sample('scheduled-reconcile.json'), fakeLambdaContext())).resolves.toMatchObject({ status: 'ok' });
    expect(createDeps).toHaveBeenCalledTimes(2);
  });
});

describe('an invalid event', () => {
  test('is refused before configuration, clients or any port is touched', async () => {
    const { world, loadConfig, createDeps, invoke } = harness();
    const event: Json = { ...sample('ec2-instance-running.json'), detail: { 'instance-id': 'i-0abc1234def567890', state: 'rebooting' } };

    const failure = invoke(event);

    await expect(failure).rejects.toBeInstanceOf(InvalidEventError);
    await expect(failure).rejects.toThrow(/detail\.state: Invalid option/);
    expect(loadConfig).not.toHaveBeenCalled();
    expect(createDeps).not.toHaveBeenCalled();
    expect(world.allCalls()).toEqual([]);
    const [logged] = logLines().filter((line) => line.level === 'ERROR');
    expect(logged).toMatchObject({
      message: 'invalid event; nothing was read or changed',
      correlation_id: event.id,
      error: { name: 'InvalidEventError', message: expect.stringContaining('detail.state') },
    });
    expect(summaries()).toEqual([]);
    expect(lines().filter((line) => '_aws' in line && !('ColdStart' in line))).toEqual([expect.objectContaining({ InvalidEvents: 1 })]);
  });

  test('a queued batch none of whose messages is a trigger is dropped, not failed: nothing read, InvalidEvents counted', async () => {
    const { world, loadConfig, createDeps, invoke } = harness();

    // Failing would bring the batch back after the visibility timeout and hold up the FIFO group meanwhile.
    const result = await invoke({ Records: ['not json', '{"action":"rebuild"}'].map(sqsRecord) });

    expect(result).toEqual({ status: 'dropped', invalidMessages: 2 });
    expect(loadConfig).not.toHaveBeenCalled();
    expect(createDeps).not.toHaveBeenCalled();
    expect(world.allCalls()).toEqual([]);
    const [logged] = logLines().filter((line) => line.level === 'ERROR');
    expect(logged).toMatchObject({ message: 'no queued message is a trigger: the batch is dropped; nothing was read or changed', invalid: [expect.objectContaining({ messageId: '00000000-aaaa-4bbb-8ccc-dddddddddddd' }), expect.any(Object)] });
    expect(lines().filter((line) => '_aws' in line && !('ColdStart' in line))).toEqual([expect.objectContaining({ InvalidEvents: 2 })]);
  });

  test('an unknown detail-type is refused the same way', async () => {
    const { world, invoke } = harness();
    await expect(invoke({ ...sample('scheduled-reconcile.json'), 'detail-type': 'AWS API Call via CloudTrail' })).rejects.toThrow(
      /"AWS API Call via CloudTrail".*detail-type: not a trigger of this function/,
    );
    expect(world.allCalls()).toEqual([]);
  });
});

describe('a failed read', () => {
  test('a CiliumNode list that fails aborts the run before any mutation, and is rethrown', async () => {
    const world = fakeWorld();
    // A client library that echoes the request headers in its error: the token must still not leak.
    world.kubernetes.failure = (token) => new Error(`401 Unauthorized (request headers: Authorization: Bearer ${token})`);
    const { invoke } = harness(world);

    const failure = invoke(sample('ec2-instance-running.json'));

    await expect(failure).rejects.toMatchObject({ name: 'IncompleteReadError', source: 'ciliumnodes' });
    await expect(failure).rejects.toThrow(/ciliumnodes: read failed, nothing was changed/);
    expect(world.ec2.mutations()).toEqual([]);
    expect(world.tokens.calls).toHaveLength(1);
    expect(summaries()).toEqual([]);
    const [logged] = logLines('reconcile read failed; nothing was changed');
    expect(logged).toMatchObject({ level: 'ERROR', source: 'ciliumnodes', mode: 'apply', trigger: { kind: 'ec2-state' } });
    const blobs = lines().filter((line) => '_aws' in line && !('ColdStart' in line));
    expect(blobs).toHaveLength(1);
    expect(blobs[0]).toMatchObject({ ReadFailures: 1 });
    expect(metricUnits(blobs[0]!)).toEqual({ ReadFailures: 'Count' });
  });

  test('a route-table read that fails is a read failure too', async () => {
    const world = fakeWorld();
    world.ec2.failures.describeRouteTables = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' });
    const { invoke } = harness(world);

    await expect(invoke(sample('scheduled-reconcile.json'))).rejects.toMatchObject({ name: 'IncompleteReadError', source: 'route-tables' });
    expect(world.ec2.mutations()).toEqual([]);
  });
});

describe('the run summary', () => {
  test('is one log line per run, with the counts, the changes and the correlation id', async () => {
    const { invoke } = harness();
    const event = sample('ec2-instance-running.json');

    await invoke(event);

    expect(summaries()).toHaveLength(1);
    const [summary] = summaries();
    expect(summary).toMatchObject({
      level: 'INFO',
      service: 'eks-hybrid-routes',
      correlation_id: event.id,
      function_name: 'eks-hybrid-routes-reconcile',
      function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
      trigger: { kind: 'ec2-state', instanceId: 'i-0abc1234def567890', state: 'running', eventId: event.id },
      mode: 'apply',
      status: 'ok',
      clusterName: LAB_CLUSTER,
      vpcId: REMOTE_VPC,
      routeTableIds: [LAB_ROUTE_TABLE],
      counts: { create: 1, replace: 0, delete: 0, keep: 0, vetoed: 0, drift: 1, sourceDestCheckFixes: 1 },
      applied: { created: 1, replaced: 0, deleted: 0, sourceDestCheckDisabled: 1 },
      vetoed: [],
      refused: [],
      unresolved: [],
      pending: [],
      conflicts: [],
      failedMutations: [],
      durationMs: 250,
    });
    expect(summary!.actions).toEqual([
      expect.objectContaining({ routeTableId: LAB_ROUTE_TABLE, destination: LAB_POD_CIDR, action: 'create', target: LAB_ENI, node: LAB_NODE }),
    ]);
    expect(summary!.sourceDestCheckFixes).toEqual([{ networkInterfaceId: LAB_ENI, node: LAB_NODE, action: 'disable' }]);
  });

  test('keep actions are counted, not listed', async () => {
    const { invoke } = harness();
    await invoke(sample('scheduled-reconcile.json'));
    output.clear();

    await invoke(sample('scheduled-reconcile.json'));

    const [summary] = summaries();
    expect(summary).toMatchObject({ counts: { keep: 1, drift: 0 }, actions: [], sourceDestCheckFixes: [] });
  });

  test('the correlation id is reset between invocations', async () => {
    const { invoke } = harness();
    await invoke(sample('scheduled-reconcile.json'));
    await invoke(sample('direct-reconcile.json'));

    const [scheduled, direct] = summaries();
    expect(scheduled!.correlation_id).toBe(sample('scheduled-reconcile.json').id);
    expect(direct).not.toHaveProperty('correlation_id');
    expect(direct!.trigger).toEqual({ kind: 'direct', mode: 'reconcile' });
  });

  test("a queued batch is correlated with its first event's id; an id that is not a string is no correlation id", async () => {
    const { invoke } = harness();
    const first = sample('scheduled-reconcile.json');
    const second = { ...sample('ec2-instance-running.json'), id: 'second-event-id' };
    await invoke({ Records: [JSON.stringify(first), JSON.stringify(second)].map(sqsRecord) });
    await expect(invoke({ ...sample('direct-reconcile.json'), id: 7 })).rejects.toBeInstanceOf(InvalidEventError);

    const [batch] = summaries();
    expect(batch!.correlation_id).toBe(first.id);
    const [refused] = logLines().filter((line) => line.level === 'ERROR');
    expect(refused).toMatchObject({ message: 'invalid event; nothing was read or changed' });
    expect(refused).not.toHaveProperty('correlation_id');
  });

  test('nothing in the output carries the bearer token', async () => {
    const { world, invoke } = harness();
    for (const file of SAMPLE_FILES) await invoke(sample(file));

    expect(world.tokens.calls.length).toBe(SAMPLE_FILES.length);
    expect(summaries()).toHaveLength(SAMPLE_FILES.length);
    const everything = output.text();
    expect(everything).not.toContain(FAKE_BEARER_TOKEN);
    expect(everything).not.toContain('SECRET');
  });

  test('the token does not leak through a failed read either: not in the logs, not in the thrown error', async () => {
    const world = fakeWorld();
    world.kubernetes.failure = (token) => new Error(`request to https://api failed: {"headers":{"Authorization":"Bearer ${token}"},"url":"https://sts.amazonaws.com/?X-Amz-Signature=SECRET"}`);
    const { invoke } = harness(world);

    const error = (await invoke(sample('scheduled-reconcile.json')).catch((thrown: unknown) => thrown)) as Error;

    const everything = output.text();
    expect(everything).toContain('k8s-aws-v1.[REDACTED]');
    expect(everything).not.toContain('SECRET');
    expect(error.message).not.toContain('SECRET');
    expect(error.stack ?? '').not.toContain('SECRET');
  });
});

describe('metrics', () => {
  test('one EMF blob per run with every run metric and its unit', async () => {
    const { invoke } = harness();

    await invoke(sample('ec2-instance-running.json'));

    const blob = runMetrics();
    expect(blob._aws.CloudWatchMetrics[0].Namespace).toBe('EksHybridRoutes');
    expect(blob.service).toBe('eks-hybrid-routes');
    expect(blob).toMatchObject({
      RoutesCreated: 1,
      RoutesReplaced: 0,
      RoutesDeleted: 0,
      RoutesKept: 0,
      Drift: 1,
      VetoedDeletions: 0,
      RefusedNodes: 0,
      UnresolvedNodes: 0,
      PendingNodes: 0,
      ProtectedRoutes: 0,
      SourceDestCheckFixed: 1,
      FailedMutations: 0,
      MutationsNotStarted: 0,
      RunDurationMs: 250,
    });
    const units = metricUnits(blob);
    expect(units.RunDurationMs).toBe('Milliseconds');
    for (const name of Object.keys(units).filter((metric) => metric !== 'RunDurationMs')) expect(units[name]).toBe('Count');
    expect(Object.keys(units)).toHaveLength(15);
  });

  test('with follow-up runs, what was done is summed over the runs and how things stand is the last run’s', async () => {
    // The lab node is routed by the first run; a second node waits for its CIDR through two follow-ups.
    const waiting = ciliumNode('mi-0aaaaaaaaaaaaaaa2', '10.20.1.12', []);
    const world = fakeWorld({ nodes: [factsNode(), waiting], interfaces: [eni(LAB_ENI, LAB_NODE_IP, { sourceDestCheck: true }), eni('eni-0aaaaaaaaaaaaaaa2', '10.20.1.12')] });
    let sleeps = 0;
    const sleep = async () => {
      sleeps += 1;
      if (sleeps === 2) world.kubernetes.nodes = [factsNode(), ciliumNode('mi-0aaaaaaaaaaaaaaa2', '10.20.1.12', ['10.30.2.0/24'])];
    };
    const handler = createHandler({ loadConfig: labConfig, createDeps: async () => world.deps, followUp: { windowMs: 180_000, intervalMs: 10_000, sleep } });

    await handler(sample('ssm-managed-instance-registration.json'), fakeLambdaContext({ getRemainingTimeInMillis: () => 290_000 }));

    // Run 1 creates the lab route and fixes its check; run 2 finds nothing; run 3 creates the second route.
    expect(summaries()).toHaveLength(3);
    expect(runMetrics()).toMatchObject({ RoutesCreated: 2, SourceDestCheckFixed: 1, Drift: 2, PendingNodes: 0, RoutesKept: 1, FollowUpRuns: 2 });
  });

  test('a deletion held back behind a failed create is in the run line, with why', async () => {
    const ec2 = new InstrumentedEc2();
    // A second node's route stays in place, so deleting the stale /23 is within the guards.
    ec2.tables = [table(LAB_ROUTE_TABLE, [...foreignRoutes(), route.managed('10.30.0.0/23', 'eni-0000000000000dead'), route.managed('10.30.5.0/24', 'eni-0aaaaaaaaaaaaaaa2')])];
    ec2.interfaces = [eni(LAB_ENI, LAB_NODE_IP), eni('eni-0aaaaaaaaaaaaaaa2', '10.20.1.12')];
    ec2.failWhen = (call) => (call.method === 'createRoute' ? Object.assign(new Error('The maximum number of routes has been reached.'), { name: 'RouteLimitExceeded' }) : undefined);
    const { invoke } = harness(fakeWorld({ ec2, nodes: [factsNode(), ciliumNode('mi-0aaaaaaaaaaaaaaa2', '10.20.1.12', ['10.30.5.0/24'])] }));

    await expect(invoke(sample('scheduled-reconcile.json'))).rejects.toThrow(/1 route or ENI mutation\(s\) failed/);

    const [summary] = summaries();
    expect(summary?.heldBack).toEqual([{ routeTableId: LAB_ROUTE_TABLE, destination: '10.30.0.0/23', reason: `kept: the create of ${LAB_POD_CIDR} it makes way for failed` }]);
    expect(ec2.mutations().map((call) => call.method)).toEqual(['createRoute']);
  });

  test('a registration whose node has not joined yet (no CiliumNode) brings follow-up runs until it is routed', async () => {
    const world = fakeWorld({ nodes: [] });
    let sleeps = 0;
    const sleep = async () => {
      sleeps += 1;
      // The node joins after the first follow-up, and is given its pod CIDR after the second.
      if (sleeps === 1) world.kubernetes.nodes = [ciliumNode(LAB_NODE, LAB_NODE_IP, [])];
      if (sleeps === 2) world.kubernetes.nodes = [factsNode()];
    };
    const handler = createHandler({ loadConfig: labConfig, createDeps: async () => world.deps, followUp: { windowMs: 180_000, intervalMs: 10_000, sleep } });

    await handler(sample('ssm-managed-instance-registration.json'), fakeLambdaContext({ getRemainingTimeInMillis: () => 290_000 }));

    expect(summaries().map((summary) => summary.registrations?.[0]?.status)).toEqual(['no-ciliumnode-yet', 'pending', 'routed']);
    expect(sleeps).toBe(2);
    expect(world.ec2.mutations().map((call) => `${call.method} ${String(call.args[1] ?? call.args[0])}`)).toEqual(
      expect.arrayContaining([`createRoute ${LAB_POD_CIDR}`]),
    );
  });

  test('a registration whose managed instance is gone again (not-registered) brings no follow-up', async () => {
    const world = fakeWorld({ nodes: [], managedInstances: [] });
    let sleeps = 0;
    const handler = createHandler({
      loadConfig: labConfig,
      createDeps: async () => world.deps,
      followUp: { windowMs: 180_000, intervalMs: 10_000, sleep: async () => void (sleeps += 1) },
    });

    await handler(sample('ssm-managed-instance-registration.json'), fakeLambdaContext({ getRemainingTimeInMillis: () => 290_000 }));

    expect(summaries().map((summary) => summary.registrations?.[0]?.status)).toEqual(['not-registered']);
    expect(sleeps).toBe(0);
  });

  test('a follow-up run that fails still leaves what the earlier run did counted, and says so', async () => {
    const world = fakeWorld({
      nodes: [factsNode(), ciliumNode('mi-0aaaaaaaaaaaaaaa2', '10.20.1.12', [])],
      interfaces: [eni(LAB_ENI, LAB_NODE_IP, { sourceDestCheck: true }), eni('eni-0aaaaaaaaaaaaaaa2', '10.20.1.12')],
    });
    const sleep = async () => {
      world.kubernetes.failure = () => new Error('503 Service Unavailable');
    };
    const handler = createHandler({ loadConfig: labConfig, createDeps: async () => world.deps, followUp: { windowMs: 180_000, intervalMs: 10_000, sleep } });

    const failure = handler(sample('ssm-managed-instance-registration.json'), fakeLambdaContext({ getRemainingTimeInMillis: () => 290_000 }));

    await expect(failure).rejects.toMatchObject({ name: 'IncompleteReadError', source: 'ciliumnodes' });
    expect(runMetrics()).toMatchObject({ RoutesCreated: 1, SourceDestCheckFixed: 1, FollowUpRuns: 1, ReadFailures: 1 });
    const [logged] = logLines().filter((line) => line.level === 'ERROR');
    expect(logged?.message).toBe('reconcile read failed; this follow-up run changed nothing (the earlier runs of this invocation did their changes)');
  });

  test('replaced, deleted, refused, unresolved and pending nodes are counted', async () => {
    const stale = '10.30.9.0/24';
    const world = fakeWorld({
      nodes: [
        factsNode(),
        // Two bad CIDRs on one node: one refused node.
        ciliumNode('mi-0aaaaaaaaaaaaaaa1', '10.20.1.11', ['10.99.0.0/24', '10.98.0.0/24']),
        ciliumNode('mi-0aaaaaaaaaaaaaaa2', '10.20.1.12', ['10.30.2.0/24']),
        ciliumNode('mi-0aaaaaaaaaaaaaaa3', '10.20.1.13', []),
      ],
      interfaces: [eni(LAB_ENI, LAB_NODE_IP), eni('eni-0aaaaaaaaaaaaaaa1', '10.20.1.11'), eni('eni-0aaaaaaaaaaaaaaa3', '10.20.1.13')],
      tables: [table(LAB_ROUTE_TABLE, [...foreignRoutes(), route.managed(LAB_POD_CIDR, 'eni-0000000000000dead'), route.managed(stale, LAB_ENI)])],
    });
    const { invoke } = harness(world);

    const result = await invoke(sample('scheduled-reconcile.json'));

    expect(runMetrics()).toMatchObject({
      RoutesCreated: 0,
      RoutesReplaced: 1,
      RoutesDeleted: 1,
      RefusedNodes: 1,
      UnresolvedNodes: 1,
      PendingNodes: 1,
      Drift: 2,
    });
    expect(result.pending).toEqual([{ node: 'mi-0aaaaaaaaaaaaaaa3', ip: '10.20.1.13' }]);
    expect(result.unresolved).toEqual([{ node: 'mi-0aaaaaaaaaaaaaaa2', ip: '10.20.1.12', reason: expect.stringContaining('no ENI') }]);
  });
});

describe('protected routes', () => {
  test('are counted (ProtectedRoutes) and listed in the run line with the node and the reason', async () => {
    // The second node has no ENI (unresolved): its route is neither rewritten nor deleted.
    const world = fakeWorld({
      nodes: [factsNode(), ciliumNode('mi-0aaaaaaaaaaaaaaa2', '10.20.1.12', ['10.30.2.0/24'])],
      tables: [table(LAB_ROUTE_TABLE, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI), route.managed('10.30.2.0/24', 'eni-0000000000000dead')])],
    });
    const { invoke } = harness(world);

    await invoke(sample('scheduled-reconcile.json'));

    expect(runMetrics()).toMatchObject({ ProtectedRoutes: 1, RoutesDeleted: 0 });
    const [summary] = summaries();
    expect(summary).toMatchObject({ protectedRoutes: 1 });
    expect(summary!.protected).toEqual([
      { routeTableId: LAB_ROUTE_TABLE, destination: '10.30.2.0/24', node: 'mi-0aaaaaaaaaaaaaaa2', reason: expect.stringMatching(/^protected: claimed by an unresolved node/) },
    ]);
    expect(world.ec2.mutations().filter((call) => call.method !== 'disableSourceDestCheck')).toEqual([]);
  });
});

describe('failed mutations', () => {
  test('are logged in the summary, counted, and fail the invocation', async () => {
    const world = fakeWorld();
    world.ec2.failures.createRoute = Object.assign(new Error('The maximum number of routes has been reached.'), { name: 'RouteLimitExceeded' });
    const { invoke } = harness(world);

    await expect(invoke(sample('ec2-instance-running.json'))).rejects.toThrow(/^1 route or ENI mutation\(s\) failed in hybrid-lab/);

    const [summary] = summaries();
    expect(summary).toMatchObject({
      status: 'failed',
      failedMutations: [expect.objectContaining({ kind: 'create', routeTableId: LAB_ROUTE_TABLE, destination: LAB_POD_CIDR, code: 'RouteLimitExceeded' })],
    });
    expect(logLines('reconcile run had failed mutations')).toEqual([
      expect.objectContaining({ level: 'ERROR', failedMutations: 1, codes: ['RouteLimitExceeded'] }),
    ]);
    // The source/dest fix still went through: one failure does not stop the others.
    expect(runMetrics()).toMatchObject({ FailedMutations: 1, RoutesCreated: 0, SourceDestCheckFixed: 1 });
  });
});

describe('vetoed deletions', () => {
  test('an empty CiliumNode list deletes nothing; the run warns and returns normally', async () => {
    const world = fakeWorld({
      nodes: [],
      tables: [table(LAB_ROUTE_TABLE, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI), route.managed('10.30.1.0/24', LAB_ENI)])],
    });
    const { invoke } = harness(world);

    const result = await invoke(sample('scheduled-reconcile.json'));

    expect(result).toMatchObject({ status: 'vetoed', vetoed: 2, counts: { delete: 0, vetoed: 2 } });
    expect(world.ec2.mutations()).toEqual([]);
    const [warning] = logLines('deletions vetoed by a safety guard; the routes were kept');
    expect(warning).toMatchObject({ level: 'WARN', vetoed: 2, reasons: [expect.stringContaining('CiliumNode list is empty')] });
    expect(summaries()[0]).toMatchObject({
      status: 'vetoed',
      vetoed: [
        expect.objectContaining({ destination: LAB_POD_CIDR, guard: 'empty-node-list' }),
        expect.objectContaining({ destination: '10.30.1.0/24', guard: 'empty-node-list' }),
      ],
    });
    expect(runMetrics()).toMatchObject({ VetoedDeletions: 2, RoutesDeleted: 0 });
  });
});

describe('SSM registration events', () => {
  test('report where each registered instance stands after the run', async () => {
    const { world, invoke } = harness();

    await invoke(sample('ssm-managed-instance-registration.json'));

    expect(world.managedInstances.calls).toEqual([{ method: 'describeManagedInstances', args: [[LAB_NODE]] }]);
    expect(summaries()[0]!.registrations).toEqual([{ instanceId: LAB_NODE, ipAddress: LAB_NODE_IP, pingStatus: 'Online', status: 'routed' }]);
  });

  test('an instance whose CiliumNode has no pod CIDR yet is pending', async () => {
    const { invoke } = harness(fakeWorld({ nodes: [ciliumNode(LAB_NODE, LAB_NODE_IP, [])] }));

    await invoke(sample('ssm-managed-instance-registration.json'));

    expect(summaries()[0]!.registrations).toEqual([expect.objectContaining({ instanceId: LAB_NODE, status: 'pending' })]);
  });

  test('an instance with no CiliumNode yet is reported as such', async () => {
    const { world, invoke } = harness(fakeWorld({ nodes: [] }));

    await invoke(sample('ssm-managed-instance-registration.json'));

    expect(summaries()[0]!.registrations).toEqual([expect.objectContaining({ instanceId: LAB_NODE, status: 'no-ciliumnode-yet' })]);
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('a failed lookup is a warning; the run still succeeds', async () => {
    const world = fakeWorld();
    world.managedInstances.failure = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const { invoke } = harness(world);

    await expect(invoke(sample('ssm-managed-instance-registration.json'))).resolves.toMatchObject({ status: 'ok' });

    expect(world.ec2.mutations()).toEqual(CONVERGING_MUTATIONS);
    expect(logLines('managed instance lookup failed; registration status not reported')).toEqual([
      expect.objectContaining({ level: 'WARN', managedInstanceIds: [LAB_NODE], error: expect.objectContaining({ name: 'ThrottlingException' }) }),
    ]);
    expect(summaries()).toHaveLength(1);
    expect(summaries()[0]).not.toHaveProperty('registrations');
  });

  test('deregistrations and registrations without ids look nothing up', async () => {
    const { world, invoke } = harness();

    await invoke(sample('ssm-managed-instance-deregistration.json'));
    await invoke({ ...sample('ssm-managed-instance-registration.json'), detail: {}, resources: [] });

    expect(world.managedInstances.calls).toEqual([]);
    expect(summaries()).toHaveLength(2);
  });
});

describe('describeRegistrations', () => {
  const basePlan = {
    routed: [],
    actions: [],
    sourceDestCheck: [],
    refused: [],
    unresolved: [],
    pending: [],
    vetoed: [],
    protected: [],
    conflicts: [],
    counts: { create: 0, replace: 0, delete: 0, keep: 0, vetoed: 0, drift: 0, managedRoutes: 0, sourceDestCheckFixes: 0 },
  };
  const id = 'mi-0bbbbbbbbbbbbbbb1';
  const record = { instanceId: id, ipAddress: '10.20.3.3' };

  test.each([
    ['not known to SSM', [], basePlan, 'not-registered'],
    ['refused', [record], { ...basePlan, refused: [{ node: id, kind: 'cidr-out-of-scope', field: 'spec.ipam.podCIDRs[0]', reason: 'x' }] }, 'refused'],
    ['unresolved, matched by IP', [record], { ...basePlan, unresolved: [{ node: 'other-name', ip: '10.20.3.3', cidrs: [], reason: 'no ENI' }] }, 'unresolved'],
    ['pending', [record], { ...basePlan, pending: [{ node: id, ip: '10.20.3.3' }] }, 'pending'],
    ['routed, matched by name', [record], { ...basePlan, routed: [{ node: id, ip: '10.20.9.9', networkInterfaceId: 'eni-1', cidrs: ['10.30.3.0/24'] }] }, 'routed'],
    ['routed, matched by IP', [record], { ...basePlan, routed: [{ node: 'other-name', ip: '10.20.3.3', networkInterfaceId: 'eni-1', cidrs: [] }] }, 'routed'],
    ['not yet a CiliumNode', [record], basePlan, 'no-ciliumnode-yet'],
  ])('%s', (_name, records, plan, status) => {
    expect(describeRegistrations([id], records as never, plan as never)).toEqual([expect.objectContaining({ instanceId: id, status })]);
  });
});
