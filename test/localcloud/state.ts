/**
 * The local cloud's world: the AWS resources and Kubernetes objects it serves, in memory. Every service
 * handler (ec2.ts, eks.ts, sts.ts, ssm.ts, eventbridge.ts, kubernetes.ts) reads and changes this one object,
 * so a scenario step (terminate an instance, allocate a CIDR) is seen by every API at once.
 */

export type RouteTargetKind =
  | 'local'
  | 'networkInterface'
  | 'instance'
  | 'transitGateway'
  | 'gateway'
  | 'natGateway'
  | 'vpcPeeringConnection';

export interface LocalRoute {
  /** CIDR exactly as stored (EC2 keeps what was sent, canonical for IPv6). */
  destination: string;
  family: 'ipv4' | 'ipv6';
  origin: 'CreateRouteTable' | 'CreateRoute' | 'EnableVgwRoutePropagation';
  target: { kind: RouteTargetKind; id: string };
  /** Set when the route was created for an ENI: EC2 also reports the attached instance. */
}

export interface LocalRouteTable {
  id: string;
  vpcId: string;
  tags: Record<string, string>;
  routes: LocalRoute[];
}

export interface LocalNetworkInterface {
  id: string;
  vpcId: string;
  subnetId: string;
  privateIp: string;
  ipv6Addresses: string[];
  /** Attached instance, if any. */
  instanceId?: string;
  /** Since when it is attached (DescribeNetworkInterfaces `attachment.attachTime`); whole seconds. */
  attachTime?: Date;
  sourceDestCheck: boolean;
  /** User tags (CreateTags / DeleteTags; scenario `instances[].networkInterfaceTags`). */
  tags: Record<string, string>;
}

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

export interface LocalInstance {
  id: string;
  subnetId: string;
  privateIp: string;
  networkInterfaceId: string;
  state: InstanceState;
  tags: Record<string, string>;
  instanceType: string;
}

export interface LocalManagedInstance {
  id: string;
  ipAddress: string;
  activationId?: string;
  pingStatus: 'Online' | 'ConnectionLost' | 'Inactive';
  computerName?: string;
  /**
   * The SSM agent on the node: `responsive` (default) runs what Run Command sends; `silent` accepts commands
   * and never reports back (every invocation stays InProgress), while the node stays registered and Online.
   */
  agent?: 'responsive' | 'silent';
}

export interface LocalActivation {
  id: string;
  tags: Record<string, string>;
}

export interface LocalCluster {
  name: string;
  arn: string;
  remoteNodeNetworks: string[];
  remotePodNetworks: string[];
  readerRoleArn?: string;
  /** Filled in when the Kubernetes server starts. */
  endpoint: string;
  /** PEM of the Kubernetes API's CA. */
  caPem: string;
}

export interface LocalRule {
  name: string;
  state: 'ENABLED' | 'DISABLED';
  eventPattern?: string;
  scheduleExpression?: string;
  description?: string;
}

/** Credentials the local STS issued (AssumeRole) or the dummy base credentials; secrets verify SigV4. */
export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The role these credentials act as (the base credentials act as the account's admin user). */
  principalArn: string;
  /** For AssumeRole credentials: the IAM role ARN they were issued for (principalArn is the assumed-role ARN). */
  roleArn?: string;
  expiration?: Date;
}

/** One instance's part of an SSM Run Command (GetCommandInvocation's view). */
export interface LocalCommandInvocation {
  instanceId: string;
  status: 'Pending' | 'InProgress' | 'Delayed' | 'Success' | 'Cancelled' | 'TimedOut' | 'Failed' | 'Cancelling';
  /** SSM's finer status ("Pending", "InProgress", "Success", "Failed", "Undeliverable", ...). */
  statusDetails: string;
  responseCode: number;
  standardOutput: string;
  standardError: string;
  startedAt?: Date;
  endedAt?: Date;
}

/** An SSM Run Command (SendCommand) and its invocations, by instance id. */
export interface LocalCommand {
  id: string;
  documentName: string;
  parameters: Record<string, string[]>;
  comment?: string;
  requestedAt: Date;
  timeoutSeconds: number;
  /** As sent: SendCommand and ListCommands echo them. */
  instanceIds: string[];
  targets: unknown[];
  invocations: Map<string, LocalCommandInvocation>;
}

export interface CallRecord {
  service: string;
  action: string;
  status: number;
  error?: string;
  /** Milliseconds since the cloud started. */
  at: number;
}

export interface CloudState {
  region: string;
  accountId: string;
  quotas: { routesPerRouteTable: number };
  cluster: LocalCluster;
  vpcs: Map<string, { id: string; cidr: string }>;
  subnets: Map<string, { id: string; vpcId: string; cidr: string; az: string }>;
  routeTables: Map<string, LocalRouteTable>;
  networkInterfaces: Map<string, LocalNetworkInterface>;
  instances: Map<string, LocalInstance>;
  managedInstances: Map<string, LocalManagedInstance>;
  activations: Map<string, LocalActivation>;
  /** Full `cilium.io/v2` CiliumNode objects, by name. */
  ciliumNodes: Map<string, Record<string, unknown>>;
  /** `v1` Node objects, by name. */
  nodes: Map<string, Record<string, unknown>>;
  /**
   * The instance each node's kubelet runs on, by node name: the instance carrying the node's InternalIP when the
   * world was built or the CiliumNode was created, or the one `launch-instance` says it `joinsAs`. A kubelet reports
   * while that instance is running, so its Node's Ready heartbeat is the moment the Node is read (kubernetes.ts);
   * a node with no such instance, or whose instance is down, has a silent kubelet.
   */
  kubeletHosts?: Map<string, string>;
  /** When each silent kubelet last reported, by node name. */
  kubeletLastHeartbeats?: Map<string, Date>;
  /** `v1` Pod objects, by `<namespace>/<name>` (optional: scenarios without pods leave it out). */
  pods?: Map<string, Record<string, unknown>>;
  /**
   * Pods (`<namespace>/<name>`) whose eviction a PodDisruptionBudget refuses (HTTP 429), by the name of that
   * budget (scenario `pods[].evictionBlocked`, control step `block-eviction`).
   */
  blockedEvictions?: Map<string, string>;
  rules: Map<string, LocalRule>;
  credentials: Map<string, LocalCredentials>;
  /** SSM Run Commands by CommandId (created on first SendCommand). */
  commands?: Map<string, LocalCommand>;
  calls: CallRecord[];
}

/**
 * EC2's view of a route's state: a route to an ENI or instance is a blackhole when the ENI is gone, is
 * detached, or its instance is not running; other targets are taken as available.
 */
export function routeState(state: CloudState, route: LocalRoute): 'active' | 'blackhole' {
  if (route.target.kind === 'networkInterface') {
    const eni = state.networkInterfaces.get(route.target.id);
    if (!eni?.instanceId) return 'blackhole';
    return state.instances.get(eni.instanceId)?.state === 'running' ? 'active' : 'blackhole';
  }
  if (route.target.kind === 'instance') {
    return state.instances.get(route.target.id)?.state === 'running' ? 'active' : 'blackhole';
  }
  return 'active';
}

/** A time as the APIs write it here: whole seconds (Kubernetes' RFC 3339 has no fraction; EC2's is .000). */
export function wholeSeconds(at: Date = new Date()): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

/** RFC 3339 as the Kubernetes API writes it: `2026-01-02T03:04:05Z`. */
export function kubernetesTime(at: Date): string {
  return wholeSeconds(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The InternalIPs a stored Node reports. */
export function nodeInternalIps(node: Record<string, unknown>): string[] {
  const addresses = (node.status as { addresses?: unknown } | undefined)?.addresses;
  return Array.isArray(addresses) ? addresses.flatMap((a: { type?: unknown; address?: unknown }) => (a?.type === 'InternalIP' && typeof a.address === 'string' ? [a.address] : [])) : [];
}

/** The running instance whose primary address is `ip`, if any. */
function runningInstanceAt(state: CloudState, ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined;
  return [...state.instances.values()].find((instance) => instance.privateIp === ip && instance.state === 'running')?.id;
}

/**
 * The node's kubelet runs on the instance carrying `ip` (a node joining), or on none if no instance does. One that
 * does not report (no instance, or one that is down) was last heard of at `lastHeard`.
 */
export function placeKubelet(state: CloudState, node: string, ip: string | undefined, lastHeard: Date = new Date(wholeSeconds().getTime() - 1000)): void {
  state.kubeletHosts ??= new Map();
  state.kubeletLastHeartbeats ??= new Map();
  const host = runningInstanceAt(state, ip) ?? [...state.instances.values()].find((instance) => instance.privateIp === ip && instance.state !== 'terminated')?.id;
  if (host) state.kubeletHosts.set(node, host);
  else state.kubeletHosts.delete(node);
  if (kubeletReports(state, node)) state.kubeletLastHeartbeats.delete(node);
  else state.kubeletLastHeartbeats.set(node, lastHeard);
}

/** Whether the node's kubelet reports now: its instance is running. */
export function kubeletReports(state: CloudState, node: string): boolean {
  const host = state.kubeletHosts?.get(node);
  return host !== undefined && state.instances.get(host)?.state === 'running';
}

/**
 * The instance goes down (terminated, stopped): the kubelets on it stop reporting. Their last heartbeat is the
 * second before: a kubelet's last post precedes its machine's end, and whatever EC2 attaches at that address in the
 * same second is still later.
 */
export function instanceDown(state: CloudState, instanceId: string, at: Date = new Date(wholeSeconds().getTime() - 1000)): void {
  state.kubeletLastHeartbeats ??= new Map();
  for (const [node, host] of state.kubeletHosts ?? []) if (host === instanceId && !state.kubeletLastHeartbeats.has(node)) state.kubeletLastHeartbeats.set(node, at);
}

/** The instance runs again: the kubelets on it report again. */
export function instanceUp(state: CloudState, instanceId: string): void {
  for (const [node, host] of state.kubeletHosts ?? []) if (host === instanceId) state.kubeletLastHeartbeats?.delete(node);
}
