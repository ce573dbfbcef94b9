/**
 * Pieces of the fault matrix (test/e2e/fault-matrix.e2e.test.ts), not a test file: the foreign routes put into
 * every managed table, the drift each case starts from, the invariants' observers (a recording Ec2Port, the
 * foreign-route snapshot, the convergence check), the project's controller wiring with a zero back-off retry
 * strategy, and a capture of what the handler writes (log lines and EMF blobs).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { beforeEach, expect, jest } from '@jest/globals';
import { AdaptiveRetryStrategy, DefaultRateLimiter } from '@smithy/core/retry';
import { type AwsClients, clientConfig } from '../../functions/adapters/aws-clients.js';
import { Ec2Adapter } from '../../functions/adapters/ec2.js';
import { EksClusterAdapter } from '../../functions/adapters/eks.js';
import { createCiliumNodePortFactory, createCiliumNodeReader } from '../../functions/adapters/kubernetes.js';
import { SsmManagedInstanceAdapter } from '../../functions/adapters/ssm.js';
import { ENV_LABELS, parseControllerConfig, rawConfigFromEnv } from '../../functions/core/config.js';
import type { CiliumNodePortFactory, Ec2Port } from '../../functions/core/ports.js';
import { type ControllerDeps, createControllerDeps, createTokenProvider, resolveRegion } from '../../functions/service/dependencies.js';
import type { LocalCloud } from '../localcloud/server.js';
import { type CloudState, type LocalRoute, routeState } from '../localcloud/state.js';
import { fakeLambdaContext } from '../support/fakes.js';
import { type HandlerResult, TABLES, control, expectedPodRoutes } from './e2e-support.js';

type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------------------
// The world: foreign routes and drift
// ---------------------------------------------------------------------------------------------------------

export const TGW = 'tgw-0a1b2c3d4e5f60718';
export const ENI_1 = 'eni-0a1b2c3d4e5f60001';
export const ENI_3 = 'eni-0a1b2c3d4e5f60003';
export const POD_NETWORK = '10.30.0.0/16';

/**
 * Routes someone else owns, put by hand (`scenario/add-route`, origin CreateRoute) into every managed table
 * besides its local route and the TGW route to the EKS VPC: a TGW route INSIDE the pod network, an ENI route
 * OUTSIDE it, and a NAT route for the shop networks. None of them may ever be touched.
 */
export const FOREIGN_ROUTES = [
  { destination: '10.30.200.0/24', transitGatewayId: TGW },
  { destination: '192.168.50.0/24', networkInterfaceId: ENI_1 },
  { destination: '100.64.0.0/10', natGatewayId: 'nat-0a1b2c3d4e5f60999' },
];

/** A node that joins after the world converged: a running instance (source/dest check on) and a pod CIDR. */
export const NEW_NODE = {
  name: 'mi-0fa00000000000004',
  instanceId: 'i-0fa00000000000004',
  eni: 'eni-0fa00000000000004',
  subnetId: 'subnet-0a1b2c3d4e5f60001',
  ip: '10.20.1.44',
  cidr: '10.30.3.0/24',
};
/** The default scenario's second node; removing its CiliumNode leaves three stale routes (10.30.1.0/24). */
export const REMOVED_NODE = 'mi-0b3c4d5e6f7a80912';
/** The default scenario's first node's pod CIDR, pointed at the wrong ENI in the first table. */
export const HIJACKED = { routeTableId: TABLES[0]!, destination: '10.30.0.0/24', networkInterfaceId: ENI_3 };

/**
 * The change that needs work, made after the world converged:
 * - `new-node`: NEW_NODE launched and given its CIDR → 1 source/dest check fix and 3 CreateRoute;
 * - `hijacked-route`: HIJACKED → 1 ReplaceRoute;
 * - `node-removed`: REMOVED_NODE's CiliumNode deleted → 3 DeleteRoute (a third of the managed routes: within budget);
 * - `mixed`: all three at once (8 mutations of all four kinds).
 */
export type Change = 'new-node' | 'hijacked-route' | 'node-removed' | 'mixed';

async function ok(cloud: LocalCloud, path: string, body: unknown): Promise<void> {
  const answer = await control(cloud, 'POST', path, body);
  expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 200, body: expect.anything() });
}

export async function addForeignRoutes(cloud: LocalCloud): Promise<void> {
  for (const routeTableId of TABLES) for (const route of FOREIGN_ROUTES) await ok(cloud, 'scenario/add-route', { routeTableId, ...route });
}

export async function makeChange(cloud: LocalCloud, change: Change): Promise<void> {
  if (change === 'new-node' || change === 'mixed') {
    await ok(cloud, 'scenario/launch-instance', { instanceId: NEW_NODE.instanceId, subnetId: NEW_NODE.subnetId, privateIp: NEW_NODE.ip, networkInterfaceId: NEW_NODE.eni });
    await ok(cloud, 'scenario/allocate-cidr', { node: NEW_NODE.name, cidr: NEW_NODE.cidr, nodeIp: NEW_NODE.ip });
  }
  if (change === 'hijacked-route' || change === 'mixed') await ok(cloud, 'scenario/add-route', HIJACKED);
  if (change === 'node-removed' || change === 'mixed') await ok(cloud, 'scenario/remove-ciliumnode', { node: REMOVED_NODE });
}

/** The mutations each change needs, by Ec2Port method. */
export const WORK: Record<Change, Record<'disableSourceDestCheck' | 'createRoute' | 'replaceRoute' | 'deleteRoute', number>> = {
  'new-node': { disableSourceDestCheck: 1, createRoute: 3, replaceRoute: 0, deleteRoute: 0 },
  'hijacked-route': { disableSourceDestCheck: 0, createRoute: 0, replaceRoute: 1, deleteRoute: 0 },
  'node-removed': { disableSourceDestCheck: 0, createRoute: 0, replaceRoute: 0, deleteRoute: 3 },
  mixed: { disableSourceDestCheck: 1, createRoute: 3, replaceRoute: 1, deleteRoute: 3 },
};

// ---------------------------------------------------------------------------------------------------------
// Observing the invariants
// ---------------------------------------------------------------------------------------------------------

function inPodNetwork(destination: string): boolean {
  const [address, bits] = destination.split('/');
  const octets = (address ?? '').split('.').map(Number);
  return octets.length === 4 && octets[0] === 10 && octets[1] === 30 && Number(bits) >= 16;
}

/** What the controller manages: origin CreateRoute, inside the pod network, to an ENI or instance. */
function isManaged(route: LocalRoute): boolean {
  return route.origin === 'CreateRoute' && inPodNetwork(route.destination) && (route.target.kind === 'networkInterface' || route.target.kind === 'instance');
}

/**
 * Every other route of every managed table (local, TGW, NAT, hand-made in and out of the pod network), as
 * `destination → kind:id (origin)`. The route state is left out: it follows the world (a terminated instance
 * blackholes routes to its ENI), not the controller.
 */
export function foreignRoutes(state: CloudState): Record<string, string[]> {
  return Object.fromEntries(
    TABLES.map((id) => [
      id,
      state.routeTables
        .get(id)!
        .routes.filter((route) => !isManaged(route))
        .map((route) => `${route.destination} → ${route.target.kind}:${route.target.id} (${route.origin})`)
        .sort(),
    ]),
  );
}

/** The managed routes of a table: destination → target id (with `!blackhole` when not active). */
export function managedRoutes(state: CloudState, tableId: string): Record<string, string> {
  const table = state.routeTables.get(tableId)!;
  return Object.fromEntries(
    table.routes.filter(isManaged).map((route) => [route.destination, route.target.id + (routeState(state, route) === 'active' ? '' : '!blackhole')]),
  );
}

export function managedSnapshot(state: CloudState): Record<string, Record<string, string>> {
  return Object.fromEntries(TABLES.map((id) => [id, managedRoutes(state, id)]));
}

/**
 * Invariant (a): every desired route (`desired`, pod CIDR → ENI) that a table held correctly in `before`
 * is still there, correct, in `after`; and every desired destination a table routed anywhere is still routed.
 */
export function expectNoDesiredRouteLost(desired: Map<string, string>, before: Record<string, Record<string, string>>, after: Record<string, Record<string, string>>): void {
  const lost: string[] = [];
  for (const table of TABLES) {
    for (const [cidr, eni] of desired) {
      const was = before[table]?.[cidr];
      const is = after[table]?.[cidr];
      if (was === eni && is !== eni) lost.push(`${table} ${cidr}: was ${was}, now ${is ?? 'absent'}`);
      if (was !== undefined && is === undefined) lost.push(`${table} ${cidr}: was routed to ${was}, now absent`);
    }
  }
  expect(lost).toEqual([]);
}

/**
 * Invariant (c): every managed table holds exactly the expected pod routes (active, to the right ENI) and,
 * untouched, its foreign routes; every node ENI has source/dest check off.
 */
export function expectConverged(cloud: LocalCloud, foreign: Record<string, string[]>): Map<string, string> {
  const expected = expectedPodRoutes(cloud.state);
  const want = Object.fromEntries(expected);
  expect(managedSnapshot(cloud.state)).toEqual(Object.fromEntries(TABLES.map((id) => [id, want])));
  expect(foreignRoutes(cloud.state)).toEqual(foreign);
  const checks = Object.fromEntries([...new Set(expected.values())].map((eni) => [eni, cloud.state.networkInterfaces.get(eni)?.sourceDestCheck]));
  expect(checks).toEqual(Object.fromEntries(Object.keys(checks).map((eni) => [eni, false])));
  return expected;
}

export type MutationMethod = 'disableSourceDestCheck' | 'createRoute' | 'replaceRoute' | 'deleteRoute';
export interface RecordedMutation {
  run: string;
  method: MutationMethod;
  routeTableId?: string;
  destination?: string;
  target?: string;
  outcome?: string;
  error?: string;
}

/**
 * An Ec2Port that delegates every call unchanged and records the mutations, checking at the moment each is
 * made (invariants a and b, "at any point you can observe"): a DeleteRoute of a destination that is still
 * desired, or any mutation of a foreign route's destination, is a violation. It never changes the outcome.
 */
export class MutationRecorder {
  readonly mutations: RecordedMutation[] = [];
  readonly violations: string[] = [];
  run = 'run 0';

  constructor(
    private readonly cloud: LocalCloud,
    private readonly foreign: () => Record<string, string[]>,
  ) {}

  of(method: MutationMethod, run = this.run): RecordedMutation[] {
    return this.mutations.filter((m) => m.method === method && m.run === run);
  }

  private check(method: MutationMethod, routeTableId: string, destination: string): void {
    if (method === 'deleteRoute' && expectedPodRoutes(this.cloud.state).has(destination)) {
      this.violations.push(`${this.run}: DeleteRoute ${routeTableId} ${destination} while it is desired`);
    }
    if ((this.foreign()[routeTableId] ?? []).some((route) => route.startsWith(`${destination} → `))) {
      this.violations.push(`${this.run}: ${method} ${routeTableId} ${destination}, a foreign route`);
    }
  }

  wrap(ec2: Ec2Port): Ec2Port {
    const record = async <T>(entry: Omit<RecordedMutation, 'run'>, call: () => Promise<T>): Promise<T> => {
      const recorded: RecordedMutation = { run: this.run, ...entry };
      this.mutations.push(recorded);
      if (entry.routeTableId && entry.destination) this.check(entry.method, entry.routeTableId, entry.destination);
      try {
        const outcome = await call();
        recorded.outcome = typeof outcome === 'string' ? outcome : 'done';
        return outcome;
      } catch (error) {
        recorded.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw error;
      }
    };
    return {
      describeRouteTables: (selector) => ec2.describeRouteTables(selector),
      findNetworkInterfaces: (vpcId, ips) => ec2.findNetworkInterfaces(vpcId, ips),
      createRoute: (routeTableId, destination, target) =>
        record({ method: 'createRoute', routeTableId, destination, target }, () => ec2.createRoute(routeTableId, destination, target)),
      replaceRoute: (routeTableId, destination, target) =>
        record({ method: 'replaceRoute', routeTableId, destination, target }, () => ec2.replaceRoute(routeTableId, destination, target)),
      deleteRoute: (routeTableId, destination) => record({ method: 'deleteRoute', routeTableId, destination }, () => ec2.deleteRoute(routeTableId, destination)),
      disableSourceDestCheck: (networkInterfaceId) =>
        record({ method: 'disableSourceDestCheck', target: networkInterfaceId }, () => ec2.disableSourceDestCheck(networkInterfaceId)),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// The controller's wiring, with a zero back-off retry strategy
// ---------------------------------------------------------------------------------------------------------

export interface FastDepsOptions {
  /** The SDK clients' per-request timeout (the project's is 15 s); only the timeout cases shorten it. */
  requestTimeoutMs?: number;
  /** CiliumNode page size (the project's default is 500). */
  pageSize?: number;
  /** The Kubernetes reader's per-request timeout (the project's is 15 s). */
  kubernetesRequestTimeoutMs?: number;
}

/**
 * The project's clients (clientConfig(): adaptive retry, 8 attempts, connection and request timeouts) with the
 * same retry strategy class and attempt budget, but no back-off delay and a high floor for the adaptive rate
 * limiter (as in fidelity-injection.test.ts): a fault that outlasts every attempt ends in milliseconds instead
 * of the ~13 s expected (up to ~25 s) of the real jittered back-off. What is retried, and how often, is unchanged.
 */
export function zeroBackoffClients(options: FastDepsOptions = {}): AwsClients & { ssm: SSMClient } {
  const project = clientConfig();
  const config = () => ({
    ...project,
    retryStrategy: new AdaptiveRetryStrategy(project.maxAttempts, {
      maxAttempts: project.maxAttempts,
      backoff: { computeNextBackoffDelay: () => 0, setDelayBase: () => {} },
      rateLimiter: new DefaultRateLimiter({ minFillRate: 1_000, minCapacity: 1_000 }),
    }),
    requestHandler: { ...project.requestHandler, ...(options.requestTimeoutMs ? { requestTimeout: options.requestTimeoutMs } : {}) },
  });
  return { ec2: new EC2Client(config()), eks: new EKSClient(config()), ssm: new SSMClient(config()), sts: new STSClient(config()) };
}

/**
 * createControllerDeps (functions/service/dependencies.ts) step for step, from the same configuration, over
 * zeroBackoffClients; the CiliumNode factory is the real one (with a page size), or, when a shorter Kubernetes
 * request timeout is asked for, the real reader built per token with it (createCiliumNodePortFactory takes only
 * the page size).
 */
export async function zeroBackoffDeps(options: FastDepsOptions = {}): Promise<ControllerDeps> {
  const config = parseControllerConfig(rawConfigFromEnv(process.env), ENV_LABELS);
  const clients = zeroBackoffClients(options);
  const tokens = createTokenProvider(clients, await resolveRegion(clients, config), config);
  const ciliumNodes: CiliumNodePortFactory =
    options.kubernetesRequestTimeoutMs === undefined
      ? createCiliumNodePortFactory(tokens, options.pageSize ? { pageSize: options.pageSize } : {})
      : async (cluster) =>
          createCiliumNodeReader({
            cluster,
            token: (await tokens.getToken(cluster.name)).token,
            requestTimeoutMs: options.kubernetesRequestTimeoutMs!,
            ...(options.pageSize ? { pageSize: options.pageSize } : {}),
          });
  return {
    cluster: new EksClusterAdapter(clients.eks),
    ciliumNodes,
    ec2: new Ec2Adapter(clients.ec2),
    tokens,
    managedInstances: new SsmManagedInstanceAdapter(clients.ssm),
  };
}

// ---------------------------------------------------------------------------------------------------------
// What the handler writes
// ---------------------------------------------------------------------------------------------------------

export interface HandlerOutput {
  clear(): void;
  /** JSON log lines (not EMF), optionally only those with this message. */
  logLines(message?: string): Json[];
  /** EMF blobs (CloudWatch metrics), without the cold-start blob. */
  metricBlobs(): Json[];
  /** The one value of `name` over the EMF blobs (undefined when no blob has it). */
  metric(name: string): number | undefined;
}

/**
 * Powertools writes INFO lines and EMF blobs to stdout, WARN and ERROR lines to stderr, one JSON document per
 * line (test/support/process-output.ts does the same for the handler unit tests); lines that are not JSON
 * (none are expected) are kept apart rather than failing the parse.
 */
export function captureHandlerOutput(): HandlerOutput {
  let chunks: string[] = [];
  beforeEach(() => {
    chunks = [];
    const capture = (chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    };
    jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  });
  const json = (): Json[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.trim().startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Json];
        } catch {
          return [];
        }
      });
  const metricBlobs = () => json().filter((line) => '_aws' in line && !('ColdStart' in line));
  return {
    clear: () => {
      chunks = [];
    },
    logLines: (message) => json().filter((line) => !('_aws' in line) && (message === undefined || line.message === message)),
    metricBlobs,
    metric: (name) => {
      const values = metricBlobs().filter((blob) => name in blob).map((blob) => blob[name] as number);
      expect(values.length).toBeLessThanOrEqual(1);
      return values[0];
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// A handler whose invocations have a Lambda deadline
// ---------------------------------------------------------------------------------------------------------

/**
 * makeHandler (e2e-support.ts) with a Lambda context whose remaining time runs out `remainingMs` (per handler, or
 * per invocation) after the invocation starts, as Lambda's does: the handler's middy core aborts the invocation 5 ms before that deadline
 * (its `timeoutEarlyInMillis`) with a TimeoutError, which is what the function returns when it hits its timeout.
 * The handler module is imported lazily, like makeHandler, so the Powertools singletons see the test's environment.
 */
export async function makeHandlerWithDeadline(
  wrapDeps: (deps: ControllerDeps) => ControllerDeps | Promise<ControllerDeps>,
  remainingMs: number,
  options: { applyTimeReserveMs?: number } = {},
): Promise<(event: unknown, remaining?: number) => Promise<HandlerResult>> {
  const { createHandler } = await import('../../functions/handlers/reconcile.js');
  const handler = createHandler({
    loadConfig: () => parseControllerConfig(rawConfigFromEnv(process.env), ENV_LABELS),
    createDeps: async (config) => wrapDeps(await createControllerDeps(config)),
    ...options,
  }) as unknown as (event: unknown, context: unknown) => Promise<unknown>;
  return async (event, remaining = remainingMs) => {
    const deadline = Date.now() + remaining;
    const context = fakeLambdaContext({ awsRequestId: `e2e-${crypto.randomUUID()}`, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) });
    return (await handler(event, context)) as HandlerResult;
  };
}
