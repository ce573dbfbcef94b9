/**
 * The reconciler's ports (ClusterPort, CiliumNodePortFactory, Ec2Port) over the in-memory fakes of fakes.ts,
 * with a fault schedule: "the n-th call of method m fails with error kind k", for reads and mutations alike.
 * A mutation's fault either happens before EC2 acted (`effect: 'none'`) or after (`'applied'`: the change
 * was made, the answer was lost, as with a timeout or a reset connection). Every call is logged in order.
 */
import type {
  CiliumNodePort,
  CiliumNodePortFactory,
  ClusterPort,
  CreateRouteOutcome,
  DeleteRouteOutcome,
  Ec2Port,
  ReplaceRouteOutcome,
} from '../../functions/core/ports.js';
import type { CiliumNodeRecord, ClusterInfo, NetworkInterfaceRecord, NodeStatusRecord, RouteTableRecord, RouteTableSelector } from '../../functions/core/types.js';
import type { ReconcileDeps } from '../../functions/service/reconcile.js';
import { FakeClusterPort, type FakeEc2 } from './fakes.js';

export const READ_METHODS = ['describeCluster', 'connectKubernetes', 'listCiliumNodes', 'describeRouteTables', 'findNetworkInterfaces'] as const;
export const MUTATION_METHODS = ['createRoute', 'replaceRoute', 'deleteRoute', 'disableSourceDestCheck'] as const;
export type ReadMethod = (typeof READ_METHODS)[number];
export type MutationMethod = (typeof MUTATION_METHODS)[number];
export type FaultMethod = ReadMethod | MutationMethod;

/** Error kinds as the SDK (or the Kubernetes client) names them. */
export const FAULT_KINDS = {
  throttling: { name: 'RequestLimitExceeded', message: 'Request limit exceeded.', status: 503 },
  'server-error': { name: 'InternalError', message: 'An internal error has occurred.', status: 500 },
  unavailable: { name: 'ServiceUnavailable', message: 'The service is unavailable.', status: 503 },
  'route-already-exists': { name: 'RouteAlreadyExists', message: 'The route identified by 10.30.0.0/24 already exists.', status: 400 },
  'route-not-found': { name: 'InvalidRoute.NotFound', message: 'no route with destination-cidr-block 10.30.0.0/24 in route table', status: 400 },
  timeout: { name: 'TimeoutError', message: 'Connection timed out after 15000 ms', status: undefined },
  reset: { name: 'Error', message: 'socket hang up (ECONNRESET)', status: undefined },
  unauthorized: { name: 'KubernetesApiError', message: 'list ciliumnodes failed: HTTP 401 Unauthorized', status: 401 },
} as const;
export type FaultKind = keyof typeof FAULT_KINDS;

export interface Fault {
  method: FaultMethod;
  /** 1 = the first call of that method. */
  attempt: number;
  kind: FaultKind;
  /** For mutations: whether EC2 made the change before the error. Reads never change anything. */
  effect: 'none' | 'applied';
}

export interface LoggedCall {
  method: FaultMethod;
  args: unknown[];
  /** The error the schedule made this call throw, if any. */
  fault?: Fault;
}

export function faultError(fault: Fault): Error {
  const kind = FAULT_KINDS[fault.kind];
  return Object.assign(new Error(kind.message), { name: kind.name, ...(kind.status ? { $metadata: { httpStatusCode: kind.status } } : {}) });
}

/** The schedule and the call log. `arm()` installs a schedule (and resets the attempt counters), `disarm()` clears it. */
export class FaultSchedule {
  readonly log: LoggedCall[] = [];
  private faults: Fault[] = [];
  private readonly attempts = new Map<FaultMethod, number>();

  arm(faults: Fault[]): void {
    this.faults = [...faults];
    this.attempts.clear();
  }

  disarm(): void {
    this.arm([]);
  }

  /** Logs the call; returns the fault scheduled for it, if any. */
  call(method: FaultMethod, args: unknown[]): Fault | undefined {
    const attempt = (this.attempts.get(method) ?? 0) + 1;
    this.attempts.set(method, attempt);
    const fault = this.faults.find((candidate) => candidate.method === method && candidate.attempt === attempt);
    this.log.push({ method, args: structuredClone(args), ...(fault ? { fault } : {}) });
    return fault;
  }

  /** Calls logged from `from` on (an index into `log`). */
  since(from: number): LoggedCall[] {
    return this.log.slice(from);
  }
}

export function isMutation(call: LoggedCall): boolean {
  return (MUTATION_METHODS as readonly string[]).includes(call.method);
}

export function isRead(call: LoggedCall): boolean {
  return (READ_METHODS as readonly string[]).includes(call.method);
}

/** An Ec2Port over a FakeEc2 (which holds the tables and ENIs), failing where the schedule says. */
export class FaultyEc2 implements Ec2Port {
  constructor(
    readonly inner: FakeEc2,
    readonly schedule: FaultSchedule,
  ) {}

  private async read<T>(method: ReadMethod, args: unknown[], work: () => Promise<T>): Promise<T> {
    const fault = this.schedule.call(method, args);
    if (fault) throw faultError(fault);
    return work();
  }

  private async mutate<T>(method: MutationMethod, args: unknown[], work: () => Promise<T>): Promise<T> {
    const fault = this.schedule.call(method, args);
    if (fault && fault.effect === 'none') throw faultError(fault);
    const result = await work();
    if (fault) throw faultError(fault);
    return result;
  }

  describeRouteTables(selector: RouteTableSelector, vpcId?: string): Promise<RouteTableRecord[]> {
    return this.read('describeRouteTables', [selector], () => this.inner.describeRouteTables(selector, vpcId));
  }

  findNetworkInterfaces(vpcId: string, ips: string[]): Promise<NetworkInterfaceRecord[]> {
    return this.read('findNetworkInterfaces', [vpcId, ips], () => this.inner.findNetworkInterfaces(vpcId, ips));
  }

  createRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<CreateRouteOutcome> {
    return this.mutate('createRoute', [routeTableId, destination, networkInterfaceId], () => this.inner.createRoute(routeTableId, destination, networkInterfaceId));
  }

  replaceRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<ReplaceRouteOutcome> {
    return this.mutate('replaceRoute', [routeTableId, destination, networkInterfaceId], () => this.inner.replaceRoute(routeTableId, destination, networkInterfaceId));
  }

  deleteRoute(routeTableId: string, destination: string): Promise<DeleteRouteOutcome> {
    return this.mutate('deleteRoute', [routeTableId, destination], () => this.inner.deleteRoute(routeTableId, destination));
  }

  disableSourceDestCheck(networkInterfaceId: string): Promise<void> {
    return this.mutate('disableSourceDestCheck', [networkInterfaceId], () => this.inner.disableSourceDestCheck(networkInterfaceId));
  }
}

export interface FaultyWorld {
  schedule: FaultSchedule;
  ec2: FakeEc2;
  deps: ReconcileDeps;
  /** The CiliumNodes the Kubernetes API serves (a copy is returned on every list). */
  nodes: CiliumNodeRecord[];
  /** What the Kubernetes API says of each Node (readNodeStatuses); a node not here is `not-found`. */
  nodeStatuses?: Map<string, NodeStatusRecord>;
  /** How often the service asked to forget the cached cluster. */
  forgotten: number;
}

/** Cluster, Kubernetes and EC2 ports over in-memory state, all failing where `schedule` says. */
export function faultyWorld(options: { cluster: ClusterInfo; nodes: CiliumNodeRecord[]; ec2: FakeEc2 }): FaultyWorld {
  const schedule = new FaultSchedule();
  const clusterFake = new FakeClusterPort(options.cluster);
  const world: FaultyWorld = {
    schedule,
    ec2: options.ec2,
    nodes: options.nodes,
    forgotten: 0,
    deps: undefined as unknown as ReconcileDeps,
  };
  const cluster: ClusterPort = {
    async describeCluster(clusterName) {
      const fault = schedule.call('describeCluster', [clusterName]);
      if (fault) throw faultError(fault);
      return clusterFake.describeCluster(clusterName);
    },
    forget() {
      world.forgotten += 1;
    },
  };
  const ciliumNodes: CiliumNodePortFactory = async (info) => {
    const fault = schedule.call('connectKubernetes', [info.name, info.endpoint]);
    if (fault) throw faultError(fault);
    const port: CiliumNodePort = {
      async listCiliumNodes() {
        const listFault = schedule.call('listCiliumNodes', []);
        if (listFault) throw faultError(listFault);
        return structuredClone(world.nodes);
      },
      async readNodeStatuses(names) {
        return new Map(names.map((name) => [name, structuredClone(world.nodeStatuses?.get(name) ?? { state: 'not-found' as const })]));
      },
    };
    return port;
  };
  world.deps = { cluster, ciliumNodes, ec2: new FaultyEc2(options.ec2, schedule), now: () => 0 };
  return world;
}
