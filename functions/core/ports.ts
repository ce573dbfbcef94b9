/**
 * Port interfaces: what the reconcile service needs from the outside world. One adapter per service
 * implements each (functions/adapters); tests and the CLI may supply their own.
 */
import type {
  CiliumNodeRecord,
  ClusterInfo,
  NetworkInterfaceRecord,
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
  /** The selected route tables, in one paginated DescribeRouteTables. */
  describeRouteTables(selector: RouteTableSelector): Promise<RouteTableRecord[]>;
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
