/**
 * EC2 adapter: route tables, ENIs and route mutations, translated to and from the core's types; for teardown
 * also ENI tags, source/dest check restore and instance termination.
 * Retries and throttling back-off are the SDK client's job (adaptive retry, see aws-clients.ts).
 */
import {
  CreateRouteCommand,
  CreateTagsCommand,
  DeleteRouteCommand,
  DeleteTagsCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceRouteCommand,
  TerminateInstancesCommand,
  paginateDescribeInstances,
  paginateDescribeNetworkInterfaces,
  paginateDescribeRouteTables,
  type EC2Client,
  type Filter,
  type InstanceStateChange,
  type NetworkInterface,
  type Route,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import { sameCidr } from '../core/cidr.js';
import { IncompleteReadError } from '../core/errors.js';
import type {
  CreateRouteOutcome,
  DeleteRouteOutcome,
  InstanceRecord,
  ReplaceRouteOutcome,
  TeardownEc2Port,
} from '../core/ports.js';
import type {
  NetworkInterfaceRecord,
  RouteRecord,
  RouteTableRecord,
  RouteTableSelector,
} from '../core/types.js';

/**
 * EC2 rejects a call carrying more than 200 filter values in total (`FilterLimitExceeded: The maximum
 * number of filter values specified on a single call is 200`). The `vpc-id` filter uses one of them.
 */
export const MAX_ADDRESS_FILTER_VALUES = 199;
/** DescribeRouteTables MaxResults range is 5–100. */
const ROUTE_TABLES_PAGE_SIZE = 100;
/** DescribeNetworkInterfaces MaxResults range is 5–1000: one page per batch of addresses. */
const NETWORK_INTERFACES_PAGE_SIZE = 1000;
/** DescribeInstances MaxResults range is 5–1000 (allowed with Filters, not with InstanceIds). */
const INSTANCES_PAGE_SIZE = 1000;
/** CreateTags, DeleteTags and TerminateInstances take up to 1000 resource ids per call. */
export const MAX_RESOURCE_IDS_PER_CALL = 1000;
const DEFAULT_CONCURRENCY = 4;

export interface Ec2AdapterOptions {
  /** Addresses per DescribeNetworkInterfaces call (1–199). */
  maxFilterValues?: number;
  /** DescribeNetworkInterfaces batches in flight at once. */
  concurrency?: number;
}

/**
 * SDK v3 sets an AWS error's `name` to the service's error code, e.g. `InvalidRoute.NotFound`.
 * Duck-typed rather than `instanceof`, which fails for errors from another realm (e.g. a jest VM context).
 */
export function isAwsError(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === code;
}

/**
 * ReplaceRoute on a destination the table does not hold: EC2 answers `InvalidParameterValue` with "There is
 * no route defined for '<cidr>' in the route table. Use CreateRoute instead." (the API reference names no
 * code; `InvalidRoute.NotFound` is what DeleteRoute uses, accepted here too).
 */
function isMissingRoute(error: unknown): boolean {
  if (isAwsError(error, 'InvalidRoute.NotFound')) return true;
  return isAwsError(error, 'InvalidParameterValue') && /There is no route defined for/i.test((error as Error).message ?? '');
}

export class Ec2Adapter implements TeardownEc2Port {
  private readonly maxFilterValues: number;
  private readonly concurrency: number;

  constructor(
    private readonly client: EC2Client,
    options: Ec2AdapterOptions = {},
  ) {
    this.maxFilterValues = options.maxFilterValues ?? MAX_ADDRESS_FILTER_VALUES;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(this.maxFilterValues) || this.maxFilterValues < 1 || this.maxFilterValues > MAX_ADDRESS_FILTER_VALUES) {
      throw new RangeError(`maxFilterValues must be an integer from 1 to ${MAX_ADDRESS_FILTER_VALUES}`);
    }
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new RangeError('concurrency must be a positive integer');
    }
  }

  async describeRouteTables(selector: RouteTableSelector, vpcId?: string): Promise<RouteTableRecord[]> {
    // An empty RouteTableIds list means "every route table in the account": never send it.
    if (selector.kind === 'ids' && selector.routeTableIds.length === 0) return [];
    const pages =
      selector.kind === 'ids'
        ? // The API reference documents no MaxResults + RouteTableIds combination (several EC2 describes
          // reject it), so EC2 picks the page size; NextToken is followed either way.
          paginateDescribeRouteTables({ client: this.client }, { RouteTableIds: [...new Set(selector.routeTableIds)] })
        : paginateDescribeRouteTables(
            { client: this.client, pageSize: ROUTE_TABLES_PAGE_SIZE },
            // In the remote VPC only: the same tag on a table elsewhere (another deployment's) is not ours.
            { Filters: [{ Name: `tag:${selector.key}`, Values: [selector.value] }, ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [])] },
          );
    const tables: RouteTableRecord[] = [];
    try {
      for await (const page of pages) {
        for (const table of page.RouteTables ?? []) tables.push(toRouteTableRecord(table));
      }
    } catch (error) {
      // EC2 refuses the whole call when a named table does not exist: the configuration no longer matches the
      // account, which is an incomplete read like a table missing from the answer, not an EC2 fault.
      if (isAwsError(error, 'InvalidRouteTableID.NotFound')) {
        throw new IncompleteReadError('route-tables', `a configured route table does not exist (EC2: ${(error as Error).message})`, { cause: error });
      }
      throw error;
    }
    return tables;
  }

  async findNetworkInterfaces(vpcId: string, ips: string[]): Promise<NetworkInterfaceRecord[]> {
    const unique = [...new Set(ips)];
    const ipv4 = unique.filter((ip) => !ip.includes(':'));
    const ipv6 = unique.filter((ip) => ip.includes(':'));
    const addressFilters: Filter[] = [
      ...chunk(ipv4, this.maxFilterValues).map((values) => ({ Name: 'addresses.private-ip-address', Values: values })),
      ...chunk(ipv6, this.maxFilterValues).map((values) => ({ Name: 'ipv6-addresses.ipv6-address', Values: values })),
    ];
    const limit = pLimit(this.concurrency);
    // Promise.all semantics: one failed batch (or page) rejects the whole read.
    const batches = await limit.map(addressFilters, (addressFilter) =>
      this.describeNetworkInterfaces([{ Name: 'vpc-id', Values: [vpcId] }, addressFilter]),
    );
    // An ENI with addresses of both families is found by two batches.
    const byId = new Map<string, NetworkInterfaceRecord>();
    for (const eni of batches.flat()) byId.set(eni.networkInterfaceId, eni);
    return [...byId.values()];
  }

  async createRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<CreateRouteOutcome> {
    const input = routeInput(routeTableId, destination, networkInterfaceId);
    try {
      await this.client.send(new CreateRouteCommand(input));
      return 'created';
    } catch (error) {
      if (!isAwsError(error, 'RouteAlreadyExists')) throw error;
    }
    // Someone added this destination since the run read the table. Take it over only if it is a route this
    // controller would manage (added by API, to an ENI or instance); never overwrite a gateway, TGW or local route.
    // Compared as networks: EC2 may spell an IPv6 destination otherwise than the canonical form sent.
    const [table] = await this.describeRouteTables({ kind: 'ids', routeTableIds: [routeTableId] });
    const existing = table?.routes.find((route) => sameCidr(route.destination, destination));
    if (!existing) {
      // EC2 says the route exists but does not show it yet (its reads are eventually consistent): what it is
      // cannot be known, so it is left for the next run, which will see it.
      throw Object.assign(new Error(`${destination} in ${routeTableId} was added meanwhile but is not visible yet; left as it is`), { name: 'RouteConflict' });
    }
    const takeable = existing.origin === 'CreateRoute' && existing.gatewayTarget === undefined && (existing.networkInterfaceId !== undefined || existing.instanceId !== undefined);
    if (!takeable) {
      throw Object.assign(
        new Error(`${destination} in ${routeTableId} was added meanwhile with target ${existing.gatewayTarget ?? 'unknown'} (origin ${existing.origin || 'unknown'}); left as it is`),
        { name: 'RouteConflict' },
      );
    }
    await this.client.send(new ReplaceRouteCommand(input));
    return 'replaced';
  }

  async replaceRoute(routeTableId: string, destination: string, networkInterfaceId: string): Promise<ReplaceRouteOutcome> {
    const input = routeInput(routeTableId, destination, networkInterfaceId);
    try {
      await this.client.send(new ReplaceRouteCommand(input));
      return 'replaced';
    } catch (error) {
      if (!isMissingRoute(error)) throw error;
    }
    await this.client.send(new CreateRouteCommand(input));
    return 'created';
  }

  async deleteRoute(routeTableId: string, destination: string): Promise<DeleteRouteOutcome> {
    try {
      await this.client.send(new DeleteRouteCommand({ RouteTableId: routeTableId, ...destinationInput(destination) }));
      return 'deleted';
    } catch (error) {
      if (isAwsError(error, 'InvalidRoute.NotFound')) return 'already-gone';
      throw error;
    }
  }

  async disableSourceDestCheck(networkInterfaceId: string): Promise<void> {
    // Per ENI, never the instance attribute: that one only exists for single-ENI instances.
    await this.client.send(
      new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: networkInterfaceId, SourceDestCheck: { Value: false } }),
    );
  }

  async findTaggedNetworkInterfaces(vpcId: string, tagKey: string): Promise<NetworkInterfaceRecord[]> {
    // `tag-key` matches the key whatever the value: a teardown puts the node name in the value.
    return this.describeNetworkInterfaces([
      { Name: 'vpc-id', Values: [vpcId] },
      { Name: 'tag-key', Values: [tagKey] },
    ]);
  }

  async findInstanceNetworkInterfaces(vpcId: string, instanceIds: string[]): Promise<NetworkInterfaceRecord[]> {
    const batches = chunk([...new Set(instanceIds)], this.maxFilterValues);
    const limit = pLimit(this.concurrency);
    const found = await limit.map(batches, (batch) =>
      this.describeNetworkInterfaces([
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'attachment.instance-id', Values: batch },
      ]),
    );
    // An ENI has at most one attachment, so batches cannot overlap; deduplicated anyway, like findNetworkInterfaces.
    const byId = new Map<string, NetworkInterfaceRecord>();
    for (const eni of found.flat()) byId.set(eni.networkInterfaceId, eni);
    return [...byId.values()];
  }

  async tagNetworkInterfaces(networkInterfaceIds: string[], tags: Record<string, string>): Promise<{ gone: string[] }> {
    const tagList = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    if (tagList.length === 0) return { gone: [] };
    // The caller must know which ENIs could not be marked: it says so, and does not count them as paused.
    return { gone: await this.perExistingEni(networkInterfaceIds, (batch) => this.client.send(new CreateTagsCommand({ Resources: batch, Tags: tagList }))) };
  }

  async untagNetworkInterfaces(networkInterfaceIds: string[], tagKeys: string[]): Promise<void> {
    const keys = [...new Set(tagKeys)];
    if (keys.length === 0) return;
    // Keys only: a tag without Value is deleted whatever its value (with Value '' only an empty one would be).
    const tagList = keys.map((Key) => ({ Key }));
    // An ENI that is gone took its tags with it.
    await this.perExistingEni(networkInterfaceIds, (batch) => this.client.send(new DeleteTagsCommand({ Resources: batch, Tags: tagList })));
  }

  /**
   * CreateTags and DeleteTags are all-or-nothing: one ENI deleted since it was found (its instance terminated
   * mid-teardown) fails its whole batch with `InvalidNetworkInterfaceID.NotFound`. The error message names the
   * missing id, but parsing it would tie this code to prose EC2 may reword, and it names only one id even when
   * several are gone. So such a batch is redone one ENI at a time: a rare path, where a few extra calls cost
   * nothing. Returns the ENIs that no longer exist.
   */
  private async perExistingEni(networkInterfaceIds: string[], send: (batch: string[]) => Promise<unknown>): Promise<string[]> {
    const gone: string[] = [];
    for (const batch of chunk([...new Set(networkInterfaceIds)], MAX_RESOURCE_IDS_PER_CALL)) {
      try {
        await send(batch);
        continue;
      } catch (error) {
        if (!isAwsError(error, 'InvalidNetworkInterfaceID.NotFound')) throw error;
      }
      const limit = pLimit(this.concurrency);
      await limit.map(batch, async (networkInterfaceId) => {
        try {
          await send([networkInterfaceId]);
        } catch (error) {
          if (!isAwsError(error, 'InvalidNetworkInterfaceID.NotFound')) throw error;
          gone.push(networkInterfaceId);
        }
      });
    }
    return gone.sort();
  }

  async enableSourceDestCheck(networkInterfaceId: string): Promise<'enabled' | 'already-gone'> {
    try {
      await this.client.send(
        new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: networkInterfaceId, SourceDestCheck: { Value: true } }),
      );
      return 'enabled';
    } catch (error) {
      // Deleted with its instance: there is nothing left to restore.
      if (isAwsError(error, 'InvalidNetworkInterfaceID.NotFound')) return 'already-gone';
      throw error;
    }
  }

  async describeInstances(instanceIds: string[]): Promise<InstanceRecord[]> {
    // An `instance-id` filter rather than InstanceIds: with InstanceIds one unknown id fails the whole call
    // (`InvalidInstanceID.NotFound`), while a filter simply leaves it out. It also allows MaxResults.
    const batches = chunk([...new Set(instanceIds)], this.maxFilterValues);
    const limit = pLimit(this.concurrency);
    const found = await limit.map(batches, async (batch) => {
      const records: InstanceRecord[] = [];
      const pages = paginateDescribeInstances(
        { client: this.client, pageSize: INSTANCES_PAGE_SIZE },
        { Filters: [{ Name: 'instance-id', Values: batch }] },
      );
      for await (const page of pages) {
        for (const reservation of page.Reservations ?? []) {
          for (const instance of reservation.Instances ?? []) {
            if (instance.InstanceId) records.push({ instanceId: instance.InstanceId, state: instance.State?.Name ?? '' });
          }
        }
      }
      return records;
    });
    return found.flat();
  }

  async terminateInstances(instanceIds: string[]): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = [];
    // Terminating an instance that is already shutting down or terminated succeeds and reports its state.
    for (const batch of chunk([...new Set(instanceIds)], MAX_RESOURCE_IDS_PER_CALL)) {
      try {
        const { TerminatingInstances } = await this.client.send(new TerminateInstancesCommand({ InstanceIds: batch }));
        records.push(...toInstanceRecords(TerminatingInstances));
        continue;
      } catch (error) {
        if (!isAwsError(error, 'InvalidInstanceID.NotFound')) throw error;
      }
      // One unknown id (terminated long enough ago that EC2 forgot it) fails the whole call and terminates
      // nothing. Redo the batch per instance and leave the unknown ones out, as describeInstances does.
      const limit = pLimit(this.concurrency);
      const single = await limit.map(batch, async (instanceId) => {
        try {
          const { TerminatingInstances } = await this.client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
          return toInstanceRecords(TerminatingInstances);
        } catch (error) {
          if (isAwsError(error, 'InvalidInstanceID.NotFound')) return [];
          throw error;
        }
      });
      records.push(...single.flat());
    }
    return records;
  }

  private async describeNetworkInterfaces(filters: Filter[]): Promise<NetworkInterfaceRecord[]> {
    const records: NetworkInterfaceRecord[] = [];
    const pages = paginateDescribeNetworkInterfaces(
      { client: this.client, pageSize: NETWORK_INTERFACES_PAGE_SIZE },
      { Filters: filters },
    );
    for await (const page of pages) {
      for (const eni of page.NetworkInterfaces ?? []) {
        const record = toNetworkInterfaceRecord(eni);
        if (record) records.push(record);
      }
    }
    return records;
  }
}

function destinationInput(destination: string) {
  return destination.includes(':') ? { DestinationIpv6CidrBlock: destination } : { DestinationCidrBlock: destination };
}

function routeInput(routeTableId: string, destination: string, networkInterfaceId: string) {
  return { RouteTableId: routeTableId, ...destinationInput(destination), NetworkInterfaceId: networkInterfaceId };
}

function toRouteTableRecord(table: RouteTable): RouteTableRecord {
  return {
    routeTableId: table.RouteTableId ?? '',
    vpcId: table.VpcId ?? '',
    routes: (table.Routes ?? []).flatMap((route) => toRouteRecord(route) ?? []),
  };
}

/** Undefined for a route with no destination EC2 describes: such a route can never be one of ours. */
function toRouteRecord(route: Route): RouteRecord | undefined {
  const destination = destinationOf(route);
  if (!destination) return undefined;
  return {
    ...destination,
    // Reported as-is: an unknown origin must never be mistaken for one of our CreateRoute routes.
    origin: route.Origin ?? '',
    state: route.State ?? '',
    networkInterfaceId: route.NetworkInterfaceId,
    instanceId: route.InstanceId,
    // Any non-ENI target marks the route as someone else's. GatewayId includes `local`, internet and
    // virtual private gateways and Gateway Load Balancer endpoints (`vpce-…`); IpAddress is the next hop
    // of a VPC Route Server route. The SDK's Route type has no VpcEndpointId.
    gatewayTarget:
      route.GatewayId ??
      route.TransitGatewayId ??
      route.NatGatewayId ??
      route.VpcPeeringConnectionId ??
      route.EgressOnlyInternetGatewayId ??
      route.LocalGatewayId ??
      route.CarrierGatewayId ??
      route.CoreNetworkArn ??
      route.OdbNetworkArn ??
      route.IpAddress,
  };
}

function destinationOf(route: Route): Pick<RouteRecord, 'destination' | 'destinationType'> | undefined {
  if (route.DestinationCidrBlock) return { destination: route.DestinationCidrBlock, destinationType: 'ipv4' };
  if (route.DestinationIpv6CidrBlock) return { destination: route.DestinationIpv6CidrBlock, destinationType: 'ipv6' };
  if (route.DestinationPrefixListId) return { destination: route.DestinationPrefixListId, destinationType: 'prefix-list' };
  return undefined;
}

function toInstanceRecords(changes: InstanceStateChange[] | undefined): InstanceRecord[] {
  return (changes ?? []).flatMap((change) =>
    change.InstanceId ? [{ instanceId: change.InstanceId, state: change.CurrentState?.Name ?? '' }] : [],
  );
}

/**
 * Undefined for an ENI without an id: it could not be referenced by a route anyway.
 * `tags` is present only when the ENI has at least one tag (an absent or empty TagSet leaves it out), so
 * `eni.tags?.[key]` is the one way to read it.
 */
function toNetworkInterfaceRecord(eni: NetworkInterface): NetworkInterfaceRecord | undefined {
  if (!eni.NetworkInterfaceId) return undefined;
  const privateIps = [eni.PrivateIpAddress, ...(eni.PrivateIpAddresses ?? []).map((address) => address.PrivateIpAddress)];
  // A tag always has a key; EC2 reports an empty value as '' or leaves Value out.
  const tagSet = (eni.TagSet ?? []).flatMap((tag) => (tag.Key ? [[tag.Key, tag.Value ?? ''] as const] : []));
  // The SDK parses the timestamp into a Date; an unreadable one is left out (it proves nothing, plan.ts).
  const attached = eni.Attachment?.AttachTime?.getTime();
  const attachTime = attached !== undefined && Number.isFinite(attached) ? new Date(attached).toISOString() : undefined;
  return {
    networkInterfaceId: eni.NetworkInterfaceId,
    vpcId: eni.VpcId ?? '',
    privateIpAddresses: [...new Set(privateIps.filter((ip): ip is string => !!ip))],
    ipv6Addresses: (eni.Ipv6Addresses ?? []).flatMap((address) => address.Ipv6Address ?? []),
    // EC2's default is `true`; reading a missing value as enabled makes the controller turn it off.
    sourceDestCheck: eni.SourceDestCheck ?? true,
    instanceId: eni.Attachment?.InstanceId,
    ...(attachTime !== undefined ? { attachTime } : {}),
    status: eni.Status,
    ...(tagSet.length > 0 ? { tags: Object.fromEntries(tagSet) } : {}),
  };
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
