/**
 * Port interfaces: what the reconcile service needs from the outside world. One adapter per service
 * implements each (functions/adapters); tests and the CLI may supply their own.
 */
import type {
  CiliumNodeRecord,
  ClusterInfo,
  NetworkInterfaceRecord,
  NodeStatusRecord,
  RouteTableRecord,
  RouteTableSelector,
} from './types.js';

export interface ClusterPort {
  /** `eks:DescribeCluster`; implementations cache the answer for the life of the process. */
  describeCluster(clusterName: string): Promise<ClusterInfo>;
  /**
   * Forgets the cached answer. Called when the cluster's Kubernetes API could not be read, since an
   * endpoint, CA or remote-network change (or a cluster recreated under the same name) shows up that way.
   */
  forget?(clusterName: string): void;
}

export interface CiliumNodePort {
  /** Every CiliumNode, following `continue` tokens. Throws if any page fails: a partial list is never returned. */
  listCiliumNodes(): Promise<CiliumNodeRecord[]>;
  /**
   * The Node (`v1`) status of each named node, one GET each: 404 is `not-found`, any other failure `unreadable`
   * (with the reason, minus the token). Never rejects: a Node that cannot be read only leaves its node unresolved.
   */
  readNodeStatuses(names: string[]): Promise<Map<string, NodeStatusRecord>>;
}

/** Builds the Kubernetes reader for a cluster (endpoint, CA) using a fresh-enough bearer token. */
export type CiliumNodePortFactory = (cluster: ClusterInfo) => Promise<CiliumNodePort>;

export interface BearerToken {
  token: string;
  expiresAt: Date;
}

export interface TokenPort {
  getToken(clusterName: string): Promise<BearerToken>;
}

export type CreateRouteOutcome = 'created' | 'replaced';
export type ReplaceRouteOutcome = 'replaced' | 'created';
export type DeleteRouteOutcome = 'deleted' | 'already-gone';

export interface Ec2Port {
  /**
   * The selected route tables, in one paginated DescribeRouteTables. With `vpcId`, a tag selects only the tables
   * in that VPC (named tables are returned wherever they are, so that one in the wrong VPC is reported, not missed).
   */
  describeRouteTables(selector: RouteTableSelector, vpcId?: string): Promise<RouteTableRecord[]>;
  /** ENIs in `vpcId` that carry any of `ips` (IPv4 or IPv6), in batched DescribeNetworkInterfaces calls. */
  findNetworkInterfaces(vpcId: string, ips: string[]): Promise<NetworkInterfaceRecord[]>;
  /** CreateRoute; on `RouteAlreadyExists` a route to an ENI or instance is replaced, any other is a `RouteConflict` error. */
  createRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<CreateRouteOutcome>;
  /** ReplaceRoute; `InvalidRoute.NotFound` turns into a CreateRoute. */
  replaceRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<ReplaceRouteOutcome>;
  /** DeleteRoute; `InvalidRoute.NotFound` counts as done. */
  deleteRoute(routeTableId: string, destination: string): Promise<DeleteRouteOutcome>;
  /** ModifyNetworkInterfaceAttribute SourceDestCheck=false on one ENI. */
  disableSourceDestCheck(networkInterfaceId: string): Promise<void>;
}

export interface ManagedInstanceRecord {
  instanceId: string;
  ipAddress?: string;
  pingStatus?: string;
  activationId?: string;
  computerName?: string;
}

export interface ManagedInstancePort {
  /** `ssm:DescribeInstanceInformation` for the given managed-instance ids (`mi-…`). */
  describeManagedInstances(instanceIds: string[]): Promise<ManagedInstanceRecord[]>;
}

// ---------------------------------------------------------------------------------------------------------
// Teardown: what the ordered teardown workflow needs beyond the reconciler's reads.
// ---------------------------------------------------------------------------------------------------------

export interface InstanceRecord {
  instanceId: string;
  /** pending | running | stopping | stopped | shutting-down | terminated */
  state: string;
}

export interface TeardownEc2Port extends Ec2Port {
  /** ENIs in `vpcId` carrying a tag with this key (any value): nodes a teardown has paused. */
  findTaggedNetworkInterfaces(vpcId: string, tagKey: string): Promise<NetworkInterfaceRecord[]>;
  /** ENIs in `vpcId` attached to any of these EC2 instances (`attachment.instance-id`), batched. */
  findInstanceNetworkInterfaces(vpcId: string, instanceIds: string[]): Promise<NetworkInterfaceRecord[]>;
  /** CreateTags on ENIs; the ones that no longer exist are returned (`gone`), the others are tagged. */
  tagNetworkInterfaces(networkInterfaceIds: string[], tags: Record<string, string>): Promise<{ gone: string[] }>;
  /** DeleteTags (by key) on ENIs; ENIs that no longer exist are skipped, not an error. */
  untagNetworkInterfaces(networkInterfaceIds: string[], tagKeys: string[]): Promise<void>;
  /** ModifyNetworkInterfaceAttribute SourceDestCheck=true; an ENI that no longer exists is `already-gone`. */
  enableSourceDestCheck(networkInterfaceId: string): Promise<'enabled' | 'already-gone'>;
  /** DescribeInstances for these ids; ids EC2 does not know are left out, not an error. */
  describeInstances(instanceIds: string[]): Promise<InstanceRecord[]>;
  /** TerminateInstances; returns each instance's state after the call. Terminating twice is fine. */
  terminateInstances(instanceIds: string[]): Promise<InstanceRecord[]>;
}

export interface ActivationRecord {
  activationId: string;
  tags: Record<string, string>;
  defaultInstanceName?: string;
  iamRole?: string;
  registrationsCount?: number;
  expired?: boolean;
}

export interface CommandInvocationRecord {
  commandId: string;
  instanceId: string;
  /** Pending | InProgress | Delayed | Success | Cancelled | TimedOut | Failed | Cancelling */
  status: string;
  statusDetails?: string;
  responseCode?: number;
  standardOutput?: string;
  standardError?: string;
}

export interface TeardownSsmPort extends ManagedInstancePort {
  /** Managed instances registered with any of these activations (DescribeInstanceInformation, filter ActivationIds). */
  listManagedInstancesByActivation(activationIds: string[]): Promise<ManagedInstanceRecord[]>;
  /** Every hybrid activation of the account (paginated DescribeActivations). */
  listActivations(): Promise<ActivationRecord[]>;
  /** DeleteActivation; `InvalidActivation` (already deleted) is `already-gone`. */
  deleteActivation(activationId: string): Promise<'deleted' | 'already-gone'>;
  /** DeregisterManagedInstance; `InvalidInstanceId` (not registered) is `already-gone`. */
  deregisterManagedInstance(instanceId: string): Promise<'deregistered' | 'already-gone'>;
  /** SendCommand with AWS-RunShellScript to one managed instance; returns the command id. Sent once: never retried by the client. */
  runShellScript(instanceId: string, commands: string[], options: { comment: string; executionTimeoutSeconds: number }): Promise<string>;
  /**
   * The id of an AWS-RunShellScript command sent to `instanceId` with this comment and these commands that is
   * still pending or running (ListCommands, ExecutionStage Executing), if any: what an earlier attempt sent.
   */
  findExecutingCommand(instanceId: string, commands: string[], comment: string): Promise<string | undefined>;
  /** GetCommandInvocation; `InvocationDoesNotExist` is undefined. */
  getCommandInvocation(commandId: string, instanceId: string): Promise<CommandInvocationRecord | undefined>;
}

/** A Kubernetes Node reduced to what teardown reads. */
export interface KubeNodeRecord {
  name: string;
  providerID?: string;
  labels: Record<string, string>;
  unschedulable: boolean;
  /** `status.addresses[type=InternalIP]` */
  internalIPs: string[];
}

/** A Pod on a node, reduced to what draining needs. */
export interface PodRecord {
  namespace: string;
  name: string;
  /** `metadata.ownerReferences[].kind` */
  ownerKinds: string[];
  /** A static pod's mirror (annotation `kubernetes.io/config.mirror`): the API cannot evict it. */
  mirror: boolean;
  /** `metadata.deletionTimestamp` is set: already on its way out. */
  terminating: boolean;
  phase?: string;
}

/** What teardown does in the cluster, with the teardown role's token. Every method is idempotent. */
export interface ClusterNodesPort extends CiliumNodePort {
  /** Every Node (paginated); `labelSelector` as the API takes it. */
  listNodes(labelSelector?: string): Promise<KubeNodeRecord[]>;
  /** Sets `spec.unschedulable=true` (merge patch). */
  cordonNode(name: string): Promise<'cordoned' | 'already-cordoned' | 'not-found'>;
  /** Pods bound to the node (`fieldSelector=spec.nodeName=<name>`, all namespaces, paginated). */
  listPodsOnNode(name: string): Promise<PodRecord[]>;
  /** The Eviction API; HTTP 429 (a PodDisruptionBudget says no, for now) is `blocked`, 404 is `not-found`. */
  evictPod(namespace: string, name: string): Promise<'evicted' | 'blocked' | 'not-found'>;
  /** DELETE the Node; 404 is `not-found`. */
  deleteNode(name: string): Promise<'deleted' | 'not-found'>;
  /** DELETE the CiliumNode (`cilium.io/v2`); 404 is `not-found`. */
  deleteCiliumNode(name: string): Promise<'deleted' | 'not-found'>;
}

export type ClusterNodesPortFactory = (cluster: ClusterInfo) => Promise<ClusterNodesPort>;

export interface RuleRecord {
  name: string;
  /** ENABLED | DISABLED | ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, or MISSING when the rule does not exist. */
  state: string;
}

/** The reconciler's EventBridge rules (its triggers and schedule). */
export interface AutoHealingPort {
  describeRules(names: string[]): Promise<RuleRecord[]>;
  disableRule(name: string): Promise<void>;
  enableRule(name: string): Promise<void>;
}
