/**
 * The data the reconcile core works on. Adapters translate AWS and Kubernetes responses into these
 * shapes and nothing more; the core never sees an SDK type.
 */

/** The cluster's hybrid-node networks, flattened from EKS `remoteNetworkConfig`. */
export interface RemoteNetworks {
  remoteNodeNetworks: string[];
  remotePodNetworks: string[];
}

/** What `eks:DescribeCluster` tells the controller. */
export interface ClusterInfo {
  name: string;
  arn?: string;
  status?: string;
  /** https URL of the Kubernetes API server. */
  endpoint: string;
  /** Base64-encoded PEM bundle, as EKS returns it. */
  certificateAuthorityData: string;
  remoteNetworks: RemoteNetworks;
}

/** A CiliumNode (`cilium.io/v2`) reduced to the fields the core reads. */
export interface CiliumNodeRecord {
  name: string;
  /** `metadata.creationTimestamp` (RFC 3339), as the API server set it. */
  createdAt?: string;
  /** `spec.addresses[]` */
  addresses: { type: string; ip: string }[];
  /** `spec.ipam.podCIDRs` (cluster-pool IPAM) */
  podCIDRs: string[];
  /** `spec.ipam.pools.allocated[]` (multi-pool IPAM) */
  poolCIDRs: { pool: string; cidrs: string[] }[];
}

/** An ENI in the remote VPC, as the EC2 adapter reports it. */
export interface NetworkInterfaceRecord {
  networkInterfaceId: string;
  vpcId: string;
  /** The primary private IPv4 address first, then the secondary ones. */
  privateIpAddresses: string[];
  ipv6Addresses: string[];
  sourceDestCheck: boolean;
  /** `Attachment.InstanceId`: the EC2 instance the ENI is attached to; absent when detached or AWS-managed. */
  instanceId?: string;
  /** `Attachment.AttachTime` (ISO 8601): since when the ENI is attached to that instance (a primary ENI: the launch). */
  attachTime?: string;
  status?: string;
  /** The ENI's tags (TagSet); teardown marks the nodes it pauses with one. */
  tags?: Record<string, string>;
}

/**
 * What a node's Kubernetes Node (`v1`) says of its kubelet: the InternalIPs it reports and the last heartbeat of its
 * `Ready` condition. Read only for a node whose ENI may not be its machine's (plan.ts, attachmentChecks): that is
 * how an address passed on to another machine shows.
 */
export type NodeStatusRecord =
  | { state: 'found'; internalIps: string[]; readyHeartbeat?: string }
  | { state: 'not-found' }
  | { state: 'unreadable'; error: string };

/** One route of a route table, as DescribeRouteTables reports it. */
export interface RouteRecord {
  /** DestinationCidrBlock, DestinationIpv6CidrBlock or DestinationPrefixListId, exactly as EC2 reported it. */
  destination: string;
  destinationType: 'ipv4' | 'ipv6' | 'prefix-list';
  /** `CreateRouteTable` (local), `CreateRoute` (added by API/console) or `EnableVgwRoutePropagation`. */
  origin: string;
  /** `active` or `blackhole`. */
  state: string;
  networkInterfaceId?: string;
  instanceId?: string;
  /**
   * Any other kind of target (gateway, transit gateway, NAT gateway, peering, VPC endpoint, ...), by its id.
   * A route with such a target is never managed by this controller.
   */
  gatewayTarget?: string;
}

export interface RouteTableRecord {
  routeTableId: string;
  vpcId: string;
  routes: RouteRecord[];
}

/** Which route tables the controller manages: explicit ids, or every table carrying a tag. */
export type RouteTableSelector =
  | { kind: 'ids'; routeTableIds: string[] }
  | { kind: 'tag'; key: string; value: string };

/** Knobs of the safety guards. */
export interface GuardOptions {
  /** Allow deletions when the CiliumNode list is empty while managed routes exist. */
  allowEmpty: boolean;
  /** Largest share (0..1) of managed routes one run may delete before the run's deletions are vetoed. */
  maxDeleteFraction: number;
  /** Deletions always allowed per run, whatever the share (small clusters). */
  minDeleteBudget: number;
  /** Let a run exceed the deletion budget. */
  force: boolean;
}

export const DEFAULT_GUARD_OPTIONS: GuardOptions = {
  allowEmpty: false,
  maxDeleteFraction: 0.5,
  minDeleteBudget: 3,
  force: false,
};
