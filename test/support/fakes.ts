/**
 * In-memory fakes of the ports (core/ports.ts), for tests of the reconcile service, the handlers and the CLI.
 * Each fake records every call and holds its state as plain records, so a test can build a world, run code
 * against it, and look at both the calls made and the state left behind. No SDK, no network.
 */
import type { Context } from 'aws-lambda';
import type {
  BearerToken,
  CiliumNodePort,
  CiliumNodePortFactory,
  ClusterPort,
  CreateRouteOutcome,
  DeleteRouteOutcome,
  Ec2Port,
  ManagedInstancePort,
  ManagedInstanceRecord,
  ReplaceRouteOutcome,
  TokenPort,
} from '../../functions/core/ports.js';
import type {
  CiliumNodeRecord,
  ClusterInfo,
  NetworkInterfaceRecord,
  NodeStatusRecord,
  RemoteNetworks,
  RouteRecord,
  RouteTableRecord,
  RouteTableSelector,
} from '../../functions/core/types.js';
import type { ControllerDeps } from '../../functions/service/dependencies.js';
import { REMOTE_NETWORKS, REMOTE_VPC, eni, factsNode, foreignRoutes, table } from './builders.js';

export interface PortCall {
  method: string;
  args: unknown[];
}

const copy = <T>(value: T): T => structuredClone(value);

/** The EC2 mutations, as opposed to reads. */
export const EC2_MUTATIONS = ['createRoute', 'replaceRoute', 'deleteRoute', 'disableSourceDestCheck'] as const;
type Ec2Method = keyof Ec2Port;

export interface FakeRouteTable extends RouteTableRecord {
  tags?: Record<string, string>;
}

/**
 * Route tables and ENIs of one account, changed by the mutations the way EC2 plus the adapter's idempotency
 * rules would: a create over an existing route replaces it, a replace of a missing route creates it, a
 * delete of a missing route is `already-gone`.
 */
export class FakeEc2 implements Ec2Port {
  readonly calls: PortCall[] = [];
  /** Set an entry to make that method throw it (after recording the call). */
  readonly failures: Partial<Record<Ec2Method, Error>> = {};

  constructor(
    public tables: FakeRouteTable[] = [],
    public interfaces: NetworkInterfaceRecord[] = [],
  ) {}

  /** The mutating calls so far, in order. */
  mutations(): PortCall[] {
    return this.calls.filter((call) => (EC2_MUTATIONS as readonly string[]).includes(call.method));
  }

  private record(method: Ec2Method, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const failure = this.failures[method];
    if (failure) throw failure;
  }

  private table(routeTableId: string): FakeRouteTable {
    const found = this.tables.find((candidate) => candidate.routeTableId === routeTableId);
    if (!found) throw Object.assign(new Error(`The routeTable ID '${routeTableId}' does not exist`), { name: 'InvalidRouteTableID.NotFound' });
    return found;
  }

  private eniRoute(destination: string, networkInterfaceId: string): RouteRecord {
    return {
      destination,
      destinationType: destination.includes(':') ? 'ipv6' : 'ipv4',
      origin: 'CreateRoute',
      // EC2 reports a route to a detached ENI (or one whose instance is gone) as a blackhole.
      state: this.interfaces.some((candidate) => candidate.networkInterfaceId === networkInterfaceId) ? 'active' : 'blackhole',
      networkInterfaceId,
    };
  }

  async describeRouteTables(selector: RouteTableSelector, vpcId?: string): Promise<RouteTableRecord[]> {
    this.record('describeRouteTables', copy(selector), ...(vpcId ? [vpcId] : []));
    const selected =
      selector.kind === 'ids'
        ? this.tables.filter((candidate) => selector.routeTableIds.includes(candidate.routeTableId))
        : this.tables.filter((candidate) => candidate.tags?.[selector.key] === selector.value && (vpcId === undefined || candidate.vpcId === vpcId));
    return selected.map(({ tags: _tags, ...record }) => copy(record));
  }

  async findNetworkInterfaces(vpcId: string, ips: string[]): Promise<NetworkInterfaceRecord[]> {
    this.record('findNetworkInterfaces', vpcId, [...ips]);
    const wanted = new Set(ips);
    return this.interfaces
      .filter((candidate) => candidate.vpcId === vpcId && [...candidate.privateIpAddresses, ...candidate.ipv6Addresses].some((ip) => wanted.has(ip)))
      .map(copy);
  }

  async createRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<CreateRouteOutcome> {
    this.record('createRoute', routeTableId, destination, networkInterfaceId);
    const routes = this.table(routeTableId).routes;
    const index = routes.findIndex((route) => route.destination === destination);
    if (index >= 0) {
      routes[index] = this.eniRoute(destination, networkInterfaceId);
      return 'replaced';
    }
    routes.push(this.eniRoute(destination, networkInterfaceId));
    return 'created';
  }

  async replaceRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<ReplaceRouteOutcome> {
    this.record('replaceRoute', routeTableId, destination, networkInterfaceId);
    const routes = this.table(routeTableId).routes;
    const index = routes.findIndex((route) => route.destination === destination);
    if (index < 0) {
      routes.push(this.eniRoute(destination, networkInterfaceId));
      return 'created';
    }
    routes[index] = this.eniRoute(destination, networkInterfaceId);
    return 'replaced';
  }

  async deleteRoute(routeTableId: string, destination: string): Promise<DeleteRouteOutcome> {
    this.record('deleteRoute', routeTableId, destination);
    const routes = this.table(routeTableId).routes;
    const index = routes.findIndex((route) => route.destination === destination);
    if (index < 0) return 'already-gone';
    routes.splice(index, 1);
    return 'deleted';
  }

  async disableSourceDestCheck(networkInterfaceId: string): Promise<void> {
    this.record('disableSourceDestCheck', networkInterfaceId);
    const found = this.interfaces.find((candidate) => candidate.networkInterfaceId === networkInterfaceId);
    if (!found) {
      throw Object.assign(new Error(`The networkInterface ID '${networkInterfaceId}' does not exist`), { name: 'InvalidNetworkInterfaceID.NotFound' });
    }
    found.sourceDestCheck = false;
  }
}

/** One start or end of a mutating call on an InstrumentedEc2, in the order they happened. */
export interface MutationEvent {
  phase: 'start' | 'end';
  method: string;
  args: unknown[];
}

/**
 * A FakeEc2 whose mutations can be slowed down (real timers), made to fail one by one, and watched: it logs
 * when each mutation starts and ends and the most mutations ever in flight at once. Reads are unchanged.
 */
export class InstrumentedEc2 extends FakeEc2 {
  /** Return an error to make that one mutation fail (the call is still recorded in `calls`). */
  failWhen?: (call: PortCall) => Error | undefined;
  /** How long each mutation takes, in ms (0: it still yields once to the event loop). */
  delay: (call: PortCall) => number = () => 0;
  readonly events: MutationEvent[] = [];
  inFlight = 0;
  maxInFlight = 0;

  /** The most calls of the given methods that were ever in flight at once, read back from `events`. */
  maxInFlightOf(methods: readonly string[]): number {
    let now = 0;
    let most = 0;
    for (const event of this.events) {
      if (!methods.includes(event.method)) continue;
      now += event.phase === 'start' ? 1 : -1;
      most = Math.max(most, now);
    }
    return most;
  }

  private async mutate<T>(method: string, args: unknown[], run: () => Promise<T>): Promise<T> {
    const call = { method, args };
    this.events.push({ phase: 'start', ...call });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const ms = this.delay(call);
      await (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
      const failure = this.failWhen?.(call);
      if (failure) {
        this.calls.push(call);
        throw failure;
      }
      return await run();
    } finally {
      this.inFlight -= 1;
      this.events.push({ phase: 'end', ...call });
    }
  }

  override createRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<CreateRouteOutcome> {
    return this.mutate('createRoute', [routeTableId, destination, networkInterfaceId], () => super.createRoute(routeTableId, destination, networkInterfaceId));
  }

  override replaceRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<ReplaceRouteOutcome> {
    return this.mutate('replaceRoute', [routeTableId, destination, networkInterfaceId], () => super.replaceRoute(routeTableId, destination, networkInterfaceId));
  }

  override deleteRoute(routeTableId: string, destination: string): Promise<DeleteRouteOutcome> {
    return this.mutate('deleteRoute', [routeTableId, destination], () => super.deleteRoute(routeTableId, destination));
  }

  override disableSourceDestCheck(networkInterfaceId: string): Promise<void> {
    return this.mutate('disableSourceDestCheck', [networkInterfaceId], () => super.disableSourceDestCheck(networkInterfaceId));
  }
}

export class FakeClusterPort implements ClusterPort {
  readonly calls: PortCall[] = [];
  failure?: Error;

  constructor(public info: ClusterInfo) {}

  async describeCluster(clusterName: string): Promise<ClusterInfo> {
    this.calls.push({ method: 'describeCluster', args: [clusterName] });
    if (this.failure) throw this.failure;
    if (clusterName !== this.info.name) {
      throw Object.assign(new Error(`No cluster found for name: ${clusterName}.`), { name: 'ResourceNotFoundException' });
    }
    return copy(this.info);
  }
}

/** Shaped like a real token (prefix + base64url of a presigned URL) and easy to search for in output. */
export const FAKE_BEARER_TOKEN =
  'k8s-aws-v1.SECRET' +
  Buffer.from('https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Signature=SECRET').toString('base64url');

export class FakeTokenPort implements TokenPort {
  readonly calls: PortCall[] = [];

  constructor(
    public token: string = FAKE_BEARER_TOKEN,
    private readonly now: () => number = Date.now,
  ) {}

  async getToken(clusterName: string): Promise<BearerToken> {
    this.calls.push({ method: 'getToken', args: [clusterName] });
    return { token: this.token, expiresAt: new Date(this.now() + 14 * 60_000) };
  }
}

/**
 * The Kubernetes API as the reconcile service sees it: a factory that, like the real one, fetches a bearer
 * token for the cluster and then lists CiliumNodes. `failure` receives that token, so a test can model a
 * client library that (wrongly) echoes the Authorization header in its error.
 */
export class FakeKubernetes {
  readonly calls: PortCall[] = [];
  failure?: (token: string) => Error;
  /** What readNodeStatuses answers, by node; a node not here is `not-found`. */
  nodeStatuses = new Map<string, NodeStatusRecord>();

  constructor(
    public nodes: CiliumNodeRecord[],
    private readonly tokens: TokenPort,
  ) {}

  readonly factory: CiliumNodePortFactory = async (cluster: ClusterInfo): Promise<CiliumNodePort> => {
    this.calls.push({ method: 'connect', args: [cluster.name, cluster.endpoint] });
    const { token } = await this.tokens.getToken(cluster.name);
    return {
      listCiliumNodes: async () => {
        this.calls.push({ method: 'listCiliumNodes', args: [] });
        if (this.failure) throw this.failure(token);
        return copy(this.nodes);
      },
      readNodeStatuses: async (names) => {
        this.calls.push({ method: 'readNodeStatuses', args: [...names] });
        return new Map(names.map((name) => [name, copy(this.nodeStatuses.get(name) ?? { state: 'not-found' as const })]));
      },
    };
  };
}

export class FakeManagedInstances implements ManagedInstancePort {
  readonly calls: PortCall[] = [];
  failure?: Error;

  constructor(public records: ManagedInstanceRecord[] = []) {}

  async describeManagedInstances(instanceIds: string[]): Promise<ManagedInstanceRecord[]> {
    this.calls.push({ method: 'describeManagedInstances', args: [[...instanceIds]] });
    if (this.failure) throw this.failure;
    return this.records.filter((record) => instanceIds.includes(record.instanceId)).map(copy);
  }
}

/** A clock that advances `stepMs` on every read, so durations are exact. */
export function steppingClock(startMs = Date.UTC(2025, 5, 3, 14, 5, 12), stepMs = 250): () => number {
  let next = startMs;
  return () => {
    const current = next;
    next += stepMs;
    return current;
  };
}

// The lab of the seed documents: one hybrid node (the CiliumNode from FACTS.md) on an EC2 instance in the
// remote VPC, one TGW-subnet route table holding only routes the controller must not touch.
export const LAB_CLUSTER = 'hybrid-lab';
export const LAB_ROUTE_TABLE = 'rtb-0a1b2c3d4e5f60001';
export const LAB_NODE = 'mi-026d6a261e355fba7';
export const LAB_NODE_IP = '10.20.1.10';
export const LAB_POD_CIDR = '10.30.0.0/24';
export const LAB_INSTANCE = 'i-0abc1234def567890';
export const LAB_ENI = 'eni-0abc1234def567890';

export function labClusterInfo(remoteNetworks: RemoteNetworks = REMOTE_NETWORKS): ClusterInfo {
  return {
    name: LAB_CLUSTER,
    arn: `arn:aws:eks:us-west-2:123456789012:cluster/${LAB_CLUSTER}`,
    status: 'ACTIVE',
    endpoint: 'https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com',
    certificateAuthorityData: Buffer.from('-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n').toString('base64'),
    remoteNetworks: copy(remoteNetworks),
  };
}

export interface FakeWorldOptions {
  cluster?: ClusterInfo;
  /** Use this EC2 fake (e.g. an InstrumentedEc2) instead of building one; `tables` and `interfaces` are then ignored. */
  ec2?: FakeEc2;
  nodes?: CiliumNodeRecord[];
  interfaces?: NetworkInterfaceRecord[];
  tables?: FakeRouteTable[];
  managedInstances?: ManagedInstanceRecord[];
  now?: () => number;
}

export interface FakeWorld {
  ec2: FakeEc2;
  cluster: FakeClusterPort;
  tokens: FakeTokenPort;
  kubernetes: FakeKubernetes;
  managedInstances: FakeManagedInstances;
  deps: ControllerDeps;
  /** Every call to every port, in no particular order across ports. */
  allCalls(): PortCall[];
}

/** The lab, before the controller's first run: the route is missing and source/dest check is on. */
export function fakeWorld(options: FakeWorldOptions = {}): FakeWorld {
  const now = options.now ?? steppingClock();
  const ec2 =
    options.ec2 ??
    new FakeEc2(
      options.tables ?? [table(LAB_ROUTE_TABLE, foreignRoutes())],
      options.interfaces ?? [eni(LAB_ENI, LAB_NODE_IP, { sourceDestCheck: true, instanceId: LAB_INSTANCE, vpcId: REMOTE_VPC })],
    );
  const cluster = new FakeClusterPort(options.cluster ?? labClusterInfo());
  const tokens = new FakeTokenPort();
  const kubernetes = new FakeKubernetes(options.nodes ?? [factsNode()], tokens);
  const managedInstances = new FakeManagedInstances(
    options.managedInstances ?? [{ instanceId: LAB_NODE, ipAddress: LAB_NODE_IP, pingStatus: 'Online', activationId: 'e488f2f6-e686-4afb-8a04-ef6df0a1b2c3' }],
  );
  return {
    ec2,
    cluster,
    tokens,
    kubernetes,
    managedInstances,
    deps: { cluster, ciliumNodes: kubernetes.factory, ec2, tokens, managedInstances, now },
    allCalls: () => [...ec2.calls, ...cluster.calls, ...tokens.calls, ...kubernetes.calls, ...managedInstances.calls],
  };
}

/** The fields of a Lambda context that Powertools and middy read. */
/** The Lambda context the handlers receive (the deprecated callback members included, as the type has them). */
export type FakeLambdaContext = Context;

export function fakeLambdaContext(overrides: Partial<FakeLambdaContext> = {}): FakeLambdaContext {
  const functionName = overrides.functionName ?? 'eks-hybrid-routes-reconcile';
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-west-2:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2025/06/03/[$LATEST]0123456789abcdef0123456789abcdef',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
    ...overrides,
  };
}
