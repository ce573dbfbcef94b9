/**
 * Small builders for the core's input records, so tests read as scenarios rather than object literals.
 * Everything here is plain data: no SDK, no I/O.
 */
import { collectClaims } from '../../functions/core/claims.js';
import type { ClaimSet } from '../../functions/core/claims.js';
import { type PlanInput, type RoutePlan, planRoutes } from '../../functions/core/plan.js';
import { type Scope, buildScope } from '../../functions/core/scope.js';
import {
  type CiliumNodeRecord,
  DEFAULT_GUARD_OPTIONS,
  type GuardOptions,
  type NodeStatusRecord,
  type NetworkInterfaceRecord,
  type RouteRecord,
  type RouteTableRecord,
} from '../../functions/core/types.js';

/** The remote VPC of the lab set-up in the seed: EKS VPC 10.10/16, remote VPC 10.20/16, pods 10.30/16. */
export const REMOTE_VPC = 'vpc-0a1b2c3d4e5f60001';
export const OTHER_VPC = 'vpc-0f0f0f0f0f0f0f0f0';
export const TGW = 'tgw-0123456789abcdef0';

export const REMOTE_NETWORKS = {
  remoteNodeNetworks: ['10.20.0.0/16'],
  remotePodNetworks: ['10.30.0.0/16'],
};

export const DUAL_STACK_NETWORKS = {
  remoteNodeNetworks: ['10.20.0.0/16', 'fd00:20::/56'],
  remotePodNetworks: ['10.30.0.0/16', 'fd00:30::/56'],
};

export function labScope(): Scope {
  return buildScope(REMOTE_NETWORKS);
}

export function dualStackScope(): Scope {
  return buildScope(DUAL_STACK_NETWORKS);
}

/** `mi-` + 17 hex digits, as SSM names hybrid nodes. */
export function nodeName(index: number): string {
  return `mi-${index.toString(16).padStart(17, '0')}`;
}

/** `eni-` + 17 hex digits. */
export function eniId(index: number): string {
  return `eni-${index.toString(16).padStart(17, '0')}`;
}

export interface CiliumNodeOptions {
  pools?: { pool: string; cidrs: string[] }[];
  /** Replaces the generated address list entirely. */
  addresses?: { type: string; ip: string }[];
  ciliumInternalIp?: string;
  /** metadata.creationTimestamp */
  createdAt?: string;
}

/**
 * A CiliumNode as the Kubernetes adapter hands it to the core. `ip` becomes the InternalIP (omit it with
 * `undefined` for a node without one); a CiliumInternalIP from the pod network is added like Cilium does.
 */
export function ciliumNode(name: string, ip: string | undefined, podCIDRs: string[] = [], options: CiliumNodeOptions = {}): CiliumNodeRecord {
  const addresses =
    options.addresses ??
    [...(ip === undefined ? [] : [{ type: 'InternalIP', ip }]), { type: 'CiliumInternalIP', ip: options.ciliumInternalIp ?? '10.30.255.1' }];
  return { name, ...(options.createdAt !== undefined ? { createdAt: options.createdAt } : {}), addresses, podCIDRs, poolCIDRs: options.pools ?? [] };
}

/** The realistic object from FACTS.md. */
export function factsNode(): CiliumNodeRecord {
  return ciliumNode('mi-026d6a261e355fba7', '10.20.1.10', ['10.30.0.0/24'], { ciliumInternalIp: '10.30.0.148' });
}

export interface EniOptions {
  vpcId?: string;
  sourceDestCheck?: boolean;
  ipv6?: string[];
  /** The instance it is attached to; by default one named after the ENI, `null` for a detached ENI. */
  instanceId?: string | null;
  secondaryIps?: string[];
  tags?: Record<string, string>;
  /** Attachment.AttachTime */
  attachTime?: string;
}

/** The id of the instance an ENI built here is attached to unless told otherwise: `eni-…` → `i-…`. */
export function instanceIdFor(networkInterfaceId: string): string {
  return `i-${networkInterfaceId.replace(/^eni-/, '')}`;
}

/**
 * An ENI attached to an instance only when one is given. The teardown's rules turn on which instance an ENI is
 * attached to, so its tests build ENIs this way: none gets an instance it did not ask for.
 */
export function detachedEni(id: string, ip: string, options: EniOptions = {}): NetworkInterfaceRecord {
  return eni(id, ip, { ...options, instanceId: options.instanceId ?? null });
}

export function eni(id: string, ip: string, options: EniOptions = {}): NetworkInterfaceRecord {
  return {
    networkInterfaceId: id,
    vpcId: options.vpcId ?? REMOTE_VPC,
    privateIpAddresses: [ip, ...(options.secondaryIps ?? [])],
    ipv6Addresses: options.ipv6 ?? [],
    // Off already, as after a correct run; tests that need it on say so.
    sourceDestCheck: options.sourceDestCheck ?? false,
    ...(options.instanceId === null ? {} : { instanceId: options.instanceId ?? instanceIdFor(id) }),
    ...(options.attachTime !== undefined ? { attachTime: options.attachTime } : {}),
    ...(options.tags ? { tags: options.tags } : {}),
    status: options.instanceId === null ? 'available' : 'in-use',
  };
}

export function table(id: string, routes: RouteRecord[], vpcId: string = REMOTE_VPC): RouteTableRecord {
  return { routeTableId: id, vpcId, routes };
}

function destinationType(destination: string): RouteRecord['destinationType'] {
  if (destination.startsWith('pl-')) return 'prefix-list';
  return destination.includes(':') ? 'ipv6' : 'ipv4';
}

/** Route builders, one per kind of route found in a TGW-subnet route table. */
export const route = {
  /** A route this controller created (or could have): Origin=CreateRoute, target an ENI. */
  managed(destination: string, networkInterfaceId: string, state: 'active' | 'blackhole' = 'active'): RouteRecord {
    return { destination, destinationType: destinationType(destination), origin: 'CreateRoute', state, networkInterfaceId };
  },
  /** Origin=CreateRoute to an instance (EC2 reports the instance and, when attached, its ENI). */
  instance(destination: string, instanceId: string, networkInterfaceId?: string, state: 'active' | 'blackhole' = 'active'): RouteRecord {
    return {
      destination,
      destinationType: destinationType(destination),
      origin: 'CreateRoute',
      state,
      instanceId,
      ...(networkInterfaceId ? { networkInterfaceId } : {}),
    };
  },
  local(destination = '10.20.0.0/16'): RouteRecord {
    return { destination, destinationType: destinationType(destination), origin: 'CreateRouteTable', state: 'active', gatewayTarget: 'local' };
  },
  gateway(destination: string, target: string = TGW, state: 'active' | 'blackhole' = 'active'): RouteRecord {
    return { destination, destinationType: destinationType(destination), origin: 'CreateRoute', state, gatewayTarget: target };
  },
  propagated(destination: string, target = 'vgw-0123456789abcdef0'): RouteRecord {
    return { destination, destinationType: destinationType(destination), origin: 'EnableVgwRoutePropagation', state: 'active', gatewayTarget: target };
  },
  prefixList(prefixListId = 'pl-0123abcd', target = 'vpce-0123456789abcdef0'): RouteRecord {
    return { destination: prefixListId, destinationType: 'prefix-list', origin: 'CreateRoute', state: 'active', gatewayTarget: target };
  },
  /** Origin=CreateRouteTable with an ENI target inside the pod networks: still not ours. */
  withOrigin(destination: string, origin: string, networkInterfaceId: string): RouteRecord {
    return { destination, destinationType: destinationType(destination), origin, state: 'active', networkInterfaceId };
  },
};

/**
 * The routes every lab TGW-subnet table carries that the controller must never touch: the local route,
 * the route back to the EKS VPC over the TGW, the 100.64/10 shop network, a propagated route, a
 * prefix-list route, and an in-scope aggregate pointing at the TGW.
 */
export function foreignRoutes(): RouteRecord[] {
  return [
    route.local('10.20.0.0/16'),
    route.gateway('10.10.0.0/16', TGW),
    route.gateway('100.64.0.0/10', TGW),
    route.propagated('192.168.0.0/16'),
    route.prefixList('pl-0123abcd'),
    route.gateway('10.30.0.0/16', TGW),
  ];
}

export function guardOptions(overrides: Partial<GuardOptions> = {}): GuardOptions {
  return { ...DEFAULT_GUARD_OPTIONS, ...overrides };
}

export interface Scenario {
  nodes: CiliumNodeRecord[];
  enis: NetworkInterfaceRecord[];
  tables: RouteTableRecord[];
  guards?: Partial<GuardOptions>;
  scope?: Scope;
  vpcId?: string | null;
  /** ENIs a teardown released from refused-node protection (PlanInput.releasedNetworkInterfaceIds). */
  released?: string[];
  /** PlanInput.nodeStatuses, by node. */
  nodeStatuses?: Record<string, NodeStatusRecord>;
  /** PlanInput.now */
  now?: string;
}

/** The planner's clock when a scenario names none (only nodes that need a check read it). */
export const DEFAULT_NOW = '2026-12-01T00:00:00.000Z';

/** Builds the whole planner input from the raw records, as the reconcile service does. */
export function planInput(scenario: Scenario): PlanInput & { claims: ClaimSet } {
  const scope = scenario.scope ?? labScope();
  const claims = collectClaims(scenario.nodes, scope);
  const vpcId = scenario.vpcId === null ? undefined : (scenario.vpcId ?? REMOTE_VPC);
  return {
    scope,
    claims,
    ...(vpcId ? { vpcId } : {}),
    networkInterfaces: scenario.enis,
    routeTables: scenario.tables,
    guards: guardOptions(scenario.guards),
    ...(scenario.released ? { releasedNetworkInterfaceIds: scenario.released } : {}),
    ...(scenario.nodeStatuses ? { nodeStatuses: new Map(Object.entries(scenario.nodeStatuses)) } : {}),
    now: Date.parse(scenario.now ?? DEFAULT_NOW),
  };
}

export function plan(scenario: Scenario): RoutePlan {
  return planRoutes(planInput(scenario));
}

/** `action routeTable destination -> target [blackhole]` lines: compact to compare in tables of cases. */
export function actionLine(action: RoutePlan['actions'][number]): string {
  return (
    `${action.action} ${action.routeTableId} ${action.destination}` +
    (action.target ? ` -> ${action.target}` : '') +
    (action.blackhole ? ' [blackhole]' : '')
  );
}

export function actionLines(result: RoutePlan): string[] {
  return result.actions.map(actionLine);
}

/** One message of the reconciler's FIFO queue as the SQS event source delivers it, `body` as is. */
export function sqsRecord(body: string, index: number): Record<string, unknown> {
  return {
    messageId: `0000000${index}-aaaa-4bbb-8ccc-dddddddddddd`,
    receiptHandle: 'AQEB',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1700000000000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1700000000001',
      MessageGroupId: 'reconcile',
      MessageDeduplicationId: `dedup-${index}`,
      SequenceNumber: `1880000000000000000${index}`,
    },
    messageAttributes: {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:eks-hybrid-routes.fifo',
    awsRegion: 'us-west-2',
  };
}
