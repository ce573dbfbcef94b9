/**
 * Local EC2 over its real wire protocol, the EC2 Query protocol (EC2 API reference, "Making requests to the
 * Amazon EC2 API" / "Query requests"): a form-encoded POST `Action=…&Version=2016-11-15&…`, lists as
 * `Name.1=…`, filters as `Filter.1.Name=…&Filter.1.Value.1=…`; answers are XML `<ActionResponse>` documents
 * whose element names are the `xmlName`s of the SDK v3 schemas (`routeTableSet`, `routeSet`, `item`, …), and
 * errors are `<Response><Errors><Error><Code>…` ("Error codes for the Amazon EC2 API", errors-overview).
 *
 * Only what this project calls is served: route tables and routes, network interfaces, instances and their
 * state changes, and tags on ENIs, instances and route tables (CreateTags / DeleteTags). The scenario helpers at the end (`terminateInstance`, `addRoute`, …) are the same code paths
 * the API uses, for the control plane (controls.ts).
 */
import ipaddr from 'ipaddr.js';
import { AwsError, type AwsRequest, type AwsResponse, type ServiceHandler, requestId, xmlEscape } from './protocol.js';
import {
  type CloudState,
  type InstanceState,
  type LocalInstance,
  type LocalNetworkInterface,
  type LocalRoute,
  type LocalRouteTable,
  type RouteTargetKind,
  instanceDown,
  instanceUp,
  routeState,
} from './state.js';

const NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/**
 * "Filter values per call: 200" — EC2 answers `FilterLimitExceeded: The maximum number of filter values
 * specified on a single call is 200` when the values of all filters of one request add up to more.
 */
export const MAX_FILTER_VALUES = 200;

/** MaxResults ranges from the API reference of each action. */
const PAGE_RANGES = {
  DescribeRouteTables: { min: 5, max: 100 },
  DescribeNetworkInterfaces: { min: 5, max: 1000 },
  DescribeInstances: { min: 5, max: 1000 },
} as const;

// ----------------------------------------------------------------------------------------------------------
// Request parameters
// ----------------------------------------------------------------------------------------------------------

interface Filter {
  name: string;
  values: string[];
}

/** The flat Query parameters of one request (query string and form body merged). */
class Params {
  constructor(private readonly values: Map<string, string>) {}

  static of(request: AwsRequest): Params {
    const values = new Map<string, string>();
    for (const [key, value] of request.query) values.set(key, value);
    if (request.body) for (const [key, value] of new URLSearchParams(request.body)) values.set(key, value);
    return new Params(values);
  }

  get(name: string): string | undefined {
    const value = this.values.get(name);
    return value === '' ? undefined : value;
  }

  /** The value as sent, empty string included (undefined only when the parameter is absent). */
  raw(name: string): string | undefined {
    return this.values.get(name);
  }

  /** The indices N of parameters `<prefix>.N.<anything>`, ascending. */
  indices(prefix: string): number[] {
    const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.`);
    const found = new Set<number>();
    for (const key of this.values.keys()) {
      const match = pattern.exec(key);
      if (match) found.add(Number(match[1]));
    }
    return [...found].sort((a, b) => a - b);
  }

  /** `MissingParameter` as EC2 words it when a required parameter is absent. */
  required(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw new AwsError('MissingParameter', `The request must contain the parameter ${name}`);
    return value;
  }

  bool(name: string): boolean | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new AwsError('InvalidParameterValue', `Invalid value '${value}' for ${name}. Expecting a boolean.`);
  }

  /** A flattened list `Name.1, Name.2, …` in index order. */
  list(name: string): string[] {
    const pattern = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)$`);
    return [...this.values.entries()]
      .flatMap(([key, value]) => {
        const match = pattern.exec(key);
        return match ? [{ index: Number(match[1]), value }] : [];
      })
      .sort((a, b) => a.index - b.index)
      .map((entry) => entry.value);
  }

  filters(): Filter[] {
    const byIndex = new Map<number, { name?: string; values: { index: number; value: string }[] }>();
    const entry = (index: number) => byIndex.get(index) ?? byIndex.set(index, { values: [] }).get(index)!;
    for (const [key, value] of this.values) {
      const name = /^Filter\.(\d+)\.Name$/.exec(key);
      if (name) entry(Number(name[1])).name = value;
      const item = /^Filter\.(\d+)\.Value\.(\d+)$/.exec(key);
      if (item) entry(Number(item[1])).values.push({ index: Number(item[2]), value });
    }
    return [...byIndex.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, filter]) => {
        if (filter.name === undefined) throw new AwsError('InvalidParameterValue', `The filter 'Filter.${index}' has no Name`);
        return { name: filter.name, values: filter.values.sort((a, b) => a.index - b.index).map((v) => v.value) };
      });
  }
}

// ----------------------------------------------------------------------------------------------------------
// Filters and pagination: one implementation for every Describe action
// ----------------------------------------------------------------------------------------------------------

type FilterValues<T> = (item: T) => (string | undefined)[];

interface FilterSpec<T> {
  fields: Record<string, FilterValues<T>>;
  /** Adds `tag:<key>`, `tag-key` and `tag-value` (EC2's tag filters). */
  tags?: (item: T) => Record<string, string>;
}

/** EC2 filter values may use `*` (any run) and `?` (one character); a backslash escapes either. */
function wildcard(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 's');
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function candidatesFor<T>(spec: FilterSpec<T>, name: string): FilterValues<T> | undefined {
  if (spec.fields[name]) return spec.fields[name];
  const tags = spec.tags;
  if (!tags) return undefined;
  if (name.startsWith('tag:') && name.length > 4) return (item) => [tags(item)[name.slice(4)]];
  if (name === 'tag-key') return (item) => Object.keys(tags(item));
  if (name === 'tag-value') return (item) => Object.values(tags(item));
  return undefined;
}

/**
 * Checks filters the way EC2 does (at most 200 values in all; unknown names are `InvalidParameterValue: The
 * filter '…' is invalid`) and keeps the items that match every filter (AND) on any of its values (OR).
 */
function applyFilters<T>(items: T[], filters: Filter[], spec: FilterSpec<T>): T[] {
  const total = filters.reduce((sum, filter) => sum + filter.values.length, 0);
  if (total > MAX_FILTER_VALUES) {
    throw new AwsError('FilterLimitExceeded', `The maximum number of filter values specified on a single call is ${MAX_FILTER_VALUES}`);
  }
  const compiled = filters.map((filter) => {
    const values = candidatesFor(spec, filter.name);
    if (!values) throw new AwsError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
    if (filter.values.length === 0) throw new AwsError('InvalidParameterValue', `The filter '${filter.name}' requires at least one value`);
    return { values, patterns: filter.values.map(wildcard) };
  });
  return items.filter((item) =>
    compiled.every(({ values, patterns }) => {
      const candidates = values(item).filter((value): value is string => value !== undefined);
      return candidates.some((candidate) => patterns.some((pattern) => pattern.test(candidate)));
    }),
  );
}

function readMaxResults(params: Params, range: { min: number; max: number }): number | undefined {
  const raw = params.get('MaxResults');
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new AwsError('InvalidParameterValue', `Invalid value '${raw}' for maxResults`);
  const value = Number(raw);
  if (value < range.min) {
    throw new AwsError('InvalidParameterValue', `Value ( ${value} ) for parameter maxResults is invalid. Expecting a value greater than or equal to ${range.min}.`);
  }
  if (value > range.max) {
    throw new AwsError('InvalidParameterValue', `Value ( ${value} ) for parameter maxResults is invalid. Expecting a value less than or equal to ${range.max}.`);
  }
  return value;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Opaque to clients: the action and the key of the last item returned (stable when items come and go). */
function encodeToken(action: string, after: string): string {
  return Buffer.from(JSON.stringify({ v: 1, action, after }), 'utf8').toString('base64url');
}

function decodeToken(action: string, token: string): string {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; action?: unknown; after?: unknown };
    if (decoded.v === 1 && decoded.action === action && typeof decoded.after === 'string') return decoded.after;
  } catch {
    // fall through
  }
  // "InvalidPaginationToken: The specified pagination token is not valid or is expired." (common client errors)
  throw new AwsError('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');
}

/**
 * EC2 pagination ("Pagination" in the EC2 API reference): without MaxResults everything comes back in one
 * answer; with it, at most MaxResults items and a `nextToken` while more remain.
 */
function paginate<T>(action: keyof typeof PAGE_RANGES, items: T[], key: (item: T) => string, params: Params): { page: T[]; nextToken?: string } {
  const maxResults = readMaxResults(params, PAGE_RANGES[action]);
  const token = params.get('NextToken');
  const sorted = [...items].sort((a, b) => compare(key(a), key(b)));
  let start = 0;
  if (token !== undefined) {
    const after = decodeToken(action, token);
    start = sorted.findIndex((item) => key(item) > after);
    if (start < 0) start = sorted.length;
  }
  const page = sorted.slice(start, maxResults === undefined ? undefined : start + maxResults);
  const more = start + page.length < sorted.length;
  return more && page.length > 0 ? { page, nextToken: encodeToken(action, key(page.at(-1)!)) } : { page };
}

/**
 * DescribeInstances and DescribeNetworkInterfaces: "You cannot specify this parameter and the instance IDs
 * [network interface IDs] parameter in the same request." (MaxResults, API reference). DescribeRouteTables
 * documents no such restriction, so it accepts both.
 */
function rejectMaxResultsWithIds(params: Params, ids: string[], parameter: string): void {
  if (ids.length > 0 && params.get('MaxResults') !== undefined) {
    throw new AwsError('InvalidParameterCombination', `The parameter ${parameter} cannot be used with the parameter maxResults`);
  }
}

// ----------------------------------------------------------------------------------------------------------
// Identifiers and lookups
// ----------------------------------------------------------------------------------------------------------

const ID_KINDS = {
  rtb: { malformed: 'InvalidRouteTableId.Malformed', notFound: 'InvalidRouteTableID.NotFound', noun: 'routeTable' },
  eni: { malformed: 'InvalidNetworkInterfaceId.Malformed', notFound: 'InvalidNetworkInterfaceID.NotFound', noun: 'networkInterface' },
  i: { malformed: 'InvalidInstanceID.Malformed', notFound: 'InvalidInstanceID.NotFound', noun: 'instance' },
} as const;

type IdKind = keyof typeof ID_KINDS;

function checkId(kind: IdKind, id: string): void {
  if (!new RegExp(`^${kind}-[0-9a-f]{8,17}$`).test(id)) {
    throw new AwsError(ID_KINDS[kind].malformed, `Invalid id: "${id}" (expecting "${kind}-...")`);
  }
}

/** `The routeTable ID 'rtb-…' does not exist` / `The instance IDs 'i-a, i-b' do not exist`. */
function notFound(kind: IdKind, ids: string[]): AwsError {
  const { notFound: code, noun } = ID_KINDS[kind];
  return ids.length === 1
    ? new AwsError(code, `The ${noun} ID '${ids[0]}' does not exist`)
    : new AwsError(code, `The ${noun} IDs '${ids.join(', ')}' do not exist`);
}

/** Validates and de-duplicates a list of ids, failing for all unknown ones at once (as EC2 does). */
function lookupAll<T>(kind: IdKind, ids: string[], map: Map<string, T>): T[] {
  const unique = [...new Set(ids)];
  unique.forEach((id) => checkId(kind, id));
  const missing = unique.filter((id) => !map.has(id));
  if (missing.length > 0) throw notFound(kind, missing);
  return unique.map((id) => map.get(id)!);
}

function lookup<T>(kind: IdKind, id: string, map: Map<string, T>): T {
  return lookupAll(kind, [id], map)[0]!;
}

const vpcOfInstance = (state: CloudState, instance: LocalInstance) => state.subnets.get(instance.subnetId)?.vpcId;

// ----------------------------------------------------------------------------------------------------------
// XML
// ----------------------------------------------------------------------------------------------------------

const el = (name: string, value: unknown) => (value === undefined || value === null ? '' : `<${name}>${xmlEscape(value)}</${name}>`);
const wrap = (name: string, inner: string) => `<${name}>${inner}</${name}>`;
/** EC2 lists are `<name><item>…</item>…</name>`; an empty list is `<name/>`. */
const itemSet = <T>(name: string, items: readonly T[], render: (item: T) => string) =>
  items.length === 0 ? `<${name}/>` : wrap(name, items.map((item) => wrap('item', render(item))).join(''));
const tagSet = (tags: Record<string, string>) => itemSet('tagSet', Object.entries(tags), ([key, value]) => el('key', key) + el('value', value));

function ok(action: string, inner: string): AwsResponse {
  const id = requestId();
  return {
    status: 200,
    headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': id },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NAMESPACE}">${el('requestId', id)}${inner}</${action}Response>`,
  };
}

const returnTrue = (action: string) => ok(action, el('return', 'true'));

// ----------------------------------------------------------------------------------------------------------
// Routes
// ----------------------------------------------------------------------------------------------------------

interface Destination {
  /** Canonical CIDR (IPv6 compressed, lower case). */
  cidr: string;
  family: 'ipv4' | 'ipv6';
  /** The request parameter's wire name, for messages. */
  parameter: 'destinationCidrBlock' | 'destinationIpv6CidrBlock';
}

/**
 * A route destination must be a valid network (no host bits): EC2 answers `InvalidParameterValue: Value (…)
 * for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.` IPv6 is stored canonical.
 */
function parseDestination(value: string, family: 'ipv4' | 'ipv6'): Destination {
  const parameter = family === 'ipv4' ? 'destinationCidrBlock' : 'destinationIpv6CidrBlock';
  const invalid = () => new AwsError('InvalidParameterValue', `Value (${value}) for parameter ${parameter} is invalid. This is not a valid CIDR block.`);
  const slash = value.lastIndexOf('/');
  if (slash < 0) throw invalid();
  const address = value.slice(0, slash);
  const prefixText = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) throw invalid();
  const prefix = Number(prefixText);
  if (family === 'ipv4') {
    if (!ipaddr.IPv4.isValidFourPartDecimal(address) || prefix > 32) throw invalid();
    if (ipaddr.IPv4.networkAddressFromCIDR(value).toString() !== address) throw invalid();
    return { cidr: `${address}/${prefix}`, family, parameter };
  }
  if (!ipaddr.IPv6.isValid(address) || address.includes('%') || prefix > 128) throw invalid();
  const parsed = ipaddr.IPv6.parse(address);
  if (ipaddr.IPv6.networkAddressFromCIDR(value).toNormalizedString() !== parsed.toNormalizedString()) throw invalid();
  return { cidr: `${parsed.toRFC5952String()}/${prefix}`, family, parameter };
}

/** Canonical form of a stored destination, for matching (scenario routes are stored as written). */
function canonicalStored(route: LocalRoute): string {
  if (route.family === 'ipv4') return route.destination;
  try {
    const [address, prefix] = ipaddr.IPv6.parseCIDR(route.destination);
    return `${address.toRFC5952String()}/${prefix}`;
  } catch {
    return route.destination;
  }
}

const findRoute = (table: LocalRouteTable, destination: Destination) =>
  table.routes.find((route) => route.family === destination.family && canonicalStored(route) === destination.cidr);

/** The route EC2 creates with the table for each VPC CIDR (`gatewayId local`, origin CreateRouteTable). */
const isLocalRoute = (route: LocalRoute) => route.origin === 'CreateRouteTable';

function destinationFrom(params: Params): Destination {
  const ipv4 = params.get('DestinationCidrBlock');
  const ipv6 = params.get('DestinationIpv6CidrBlock');
  const prefixList = params.get('DestinationPrefixListId');
  const given = [ipv4, ipv6, prefixList].filter((value) => value !== undefined).length;
  if (given === 0) {
    throw new AwsError('MissingParameter', 'The request must contain the parameter destinationCidrBlock or destinationIpv6CidrBlock or destinationPrefixListId');
  }
  if (given > 1) {
    throw new AwsError('InvalidParameterCombination', 'Only one of destinationCidrBlock, destinationIpv6CidrBlock and destinationPrefixListId may be specified');
  }
  // The local cloud holds no managed prefix lists, so any id names one that does not exist.
  if (prefixList !== undefined) throw new AwsError('InvalidPrefixListID.NotFound', `The prefix list ID '${prefixList}' does not exist`);
  return ipv4 !== undefined ? parseDestination(ipv4, 'ipv4') : parseDestination(ipv6!, 'ipv6');
}

type Target = LocalRoute['target'] | 'local';

/** Target parameters EC2 accepts; the local cloud models the kinds in `RouteTargetKind`. */
const TARGET_PARAMETERS = [
  'NetworkInterfaceId',
  'InstanceId',
  'GatewayId',
  'TransitGatewayId',
  'NatGatewayId',
  'VpcPeeringConnectionId',
  'EgressOnlyInternetGatewayId',
  'LocalGatewayId',
  'CarrierGatewayId',
  'VpcEndpointId',
  'CoreNetworkArn',
  'OdbNetworkArn',
] as const;

/**
 * "You must specify exactly one of the resources from the parameter list" (CreateRoute / ReplaceRoute), or,
 * for ReplaceRoute, `LocalTarget=true` to reset a local route. An ENI must exist and be in the table's VPC
 * (EC2: `route table … and network interface … belong to different networks`); an instance target stands for
 * its primary ENI, which EC2 then reports together with the instance.
 */
function targetFrom(state: CloudState, table: LocalRouteTable, params: Params, allowLocalTarget: boolean): Target {
  const localTarget = allowLocalTarget ? params.bool('LocalTarget') === true : false;
  const given = TARGET_PARAMETERS.filter((name) => params.get(name) !== undefined);
  if (given.length + (localTarget ? 1 : 0) === 0) {
    throw new AwsError(
      'MissingParameter',
      'The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, egressOnlyInternetGatewayId, transitGatewayId, localGatewayId, carrierGatewayId, coreNetworkArn or instanceId',
    );
  }
  if (given.length + (localTarget ? 1 : 0) > 1) {
    throw new AwsError('InvalidParameterCombination', `Only one route target may be specified; got ${[...given, ...(localTarget ? ['LocalTarget'] : [])].join(', ')}`);
  }
  if (localTarget) return 'local';
  const name = given[0]!;
  const id = params.get(name)!;
  const target = (kind: RouteTargetKind) => ({ kind, id });
  switch (name) {
    case 'NetworkInterfaceId': {
      const eni = lookup('eni', id, state.networkInterfaces);
      if (eni.vpcId !== table.vpcId) throw new AwsError('InvalidParameterValue', `route table ${table.id} and network interface ${eni.id} belong to different networks`);
      return target('networkInterface');
    }
    case 'InstanceId': {
      const instance = lookup('i', id, state.instances);
      const eni = state.networkInterfaces.get(instance.networkInterfaceId);
      if (!eni || instance.state === 'terminated') {
        throw new AwsError('IncorrectInstanceState', `The instance '${id}' is not in a valid state for this operation.`);
      }
      if (eni.vpcId !== table.vpcId) throw new AwsError('InvalidParameterValue', `route table ${table.id} and instance ${id} belong to different networks`);
      return { kind: 'networkInterface', id: eni.id };
    }
    case 'GatewayId':
      if (id === 'local') return 'local';
      if (!/^(igw|vgw)-[0-9a-f]{8,17}$/.test(id)) throw new AwsError('InvalidGatewayID.NotFound', `The gateway ID '${id}' does not exist`);
      return target('gateway');
    case 'TransitGatewayId':
      if (!/^tgw-[0-9a-f]{8,17}$/.test(id)) throw new AwsError('InvalidTransitGatewayID.NotFound', `Transit Gateway ${id} was deleted or does not exist.`);
      return target('transitGateway');
    case 'NatGatewayId':
      if (!/^nat-[0-9a-f]{8,17}$/.test(id)) throw new AwsError('NatGatewayNotFound', `The Nat Gateway ${id} was not found`);
      return target('natGateway');
    case 'VpcPeeringConnectionId':
      if (!/^pcx-[0-9a-f]{8,17}$/.test(id)) throw new AwsError('InvalidVpcPeeringConnectionID.NotFound', `The vpcPeeringConnection ID '${id}' does not exist`);
      return target('vpcPeeringConnection');
    default:
      // Real target kinds this project never uses; refused rather than half-modelled.
      throw new AwsError('InvalidParameterValue', `The local cloud does not model ${name} route targets`);
  }
}

function routeTableFrom(state: CloudState, params: Params): LocalRouteTable {
  return lookup('rtb', params.required('RouteTableId'), state.routeTables);
}

/** Routes that count toward "Routes per route table": all but propagated ones, per address family. */
const countedRoutes = (table: LocalRouteTable, family: 'ipv4' | 'ipv6') =>
  table.routes.filter((route) => route.family === family && route.origin !== 'EnableVgwRoutePropagation').length;

function createRouteIn(state: CloudState, table: LocalRouteTable, destination: Destination, target: Target): void {
  if (findRoute(table, destination)) throw new AwsError('RouteAlreadyExists', `The route identified by ${destination.cidr} already exists.`);
  if (target === 'local') throw new AwsError('InvalidParameterValue', `Route target local can only be used with a local route`);
  // Amazon VPC quotas, "Routes per route table (non-propagated routes)": 50 by default, up to 1,000,
  // "enforced separately for IPv4 routes and IPv6 routes". The local route is a non-propagated route of its
  // family and is counted (the quota page names no exception for it).
  const quota = state.quotas.routesPerRouteTable;
  if (countedRoutes(table, destination.family) >= quota) {
    throw new AwsError('RouteLimitExceeded', `The maximum number of routes (${quota}) has been reached for route table ${table.id}.`);
  }
  table.routes.push({ destination: destination.cidr, family: destination.family, origin: 'CreateRoute', target });
}

/**
 * ReplaceRoute keeps the route's origin and swaps its target. On a route that does not exist EC2 answers
 * `InvalidParameterValue: There is no route defined for '<cidr>' in the route table. Use CreateRoute instead.`
 * (not InvalidRoute.NotFound: observed on AWS and mirrored by moto, getmoto/moto#6425). A local route's target
 * may be replaced with a network interface and restored with `LocalTarget` ("Replace or restore the target for
 * a local route", VPC user guide).
 */
function replaceRouteIn(table: LocalRouteTable, destination: Destination, target: Target): void {
  const route = findRoute(table, destination);
  if (!route) {
    throw new AwsError('InvalidParameterValue', `There is no route defined for '${destination.cidr}' in the route table. Use CreateRoute instead.`);
  }
  if (isLocalRoute(route)) {
    if (target === 'local') route.target = { kind: 'local', id: 'local' };
    else if (target.kind === 'networkInterface') route.target = target;
    else throw new AwsError('InvalidParameterValue', `The target of local route ${destination.cidr} can only be replaced with a network interface or restored to local`);
    return;
  }
  if (route.origin === 'EnableVgwRoutePropagation') {
    throw new AwsError('InvalidParameterValue', `Route ${destination.cidr} in route table ${table.id} is propagated and cannot be replaced`);
  }
  if (target === 'local') throw new AwsError('InvalidParameterValue', `Route ${destination.cidr} is not a local route; LocalTarget cannot be used`);
  route.target = target;
}

/**
 * DeleteRoute: `InvalidRoute.NotFound` for a destination the table does not hold; the local route cannot be
 * removed (`InvalidParameterValue: cannot remove local route …`).
 */
function deleteRouteIn(table: LocalRouteTable, destination: Destination): void {
  const index = table.routes.findIndex((route) => route.family === destination.family && canonicalStored(route) === destination.cidr);
  if (index < 0) {
    const filter = destination.family === 'ipv4' ? 'destination-cidr-block' : 'destination-ipv6-cidr-block';
    throw new AwsError('InvalidRoute.NotFound', `no route with ${filter} ${destination.cidr} in route table ${table.id}`);
  }
  if (isLocalRoute(table.routes[index]!)) {
    throw new AwsError('InvalidParameterValue', `cannot remove local route ${destination.cidr} in route table ${table.id}`);
  }
  table.routes.splice(index, 1);
}

function renderRoute(state: CloudState, route: LocalRoute): string {
  const destination = el(route.family === 'ipv4' ? 'destinationCidrBlock' : 'destinationIpv6CidrBlock', route.destination);
  const { kind, id } = route.target;
  let target = '';
  switch (kind) {
    case 'local':
      target = el('gatewayId', 'local');
      break;
    case 'gateway':
      target = el('gatewayId', id);
      break;
    case 'transitGateway':
      target = el('transitGatewayId', id);
      break;
    case 'natGateway':
      target = el('natGatewayId', id);
      break;
    case 'vpcPeeringConnection':
      target = el('vpcPeeringConnectionId', id);
      break;
    case 'networkInterface': {
      // While the ENI is attached EC2 also names its instance; a deleted or detached ENI leaves only its id.
      const instanceId = state.networkInterfaces.get(id)?.instanceId;
      target = (instanceId ? el('instanceId', instanceId) + el('instanceOwnerId', state.accountId) : '') + el('networkInterfaceId', id);
      break;
    }
    case 'instance': {
      const instance = state.instances.get(id);
      const eniId = instance && state.networkInterfaces.has(instance.networkInterfaceId) ? instance.networkInterfaceId : undefined;
      target = el('instanceId', id) + el('instanceOwnerId', state.accountId) + el('networkInterfaceId', eniId);
      break;
    }
  }
  return destination + target + el('state', routeState(state, route)) + el('origin', route.origin);
}

function renderRouteTable(state: CloudState, table: LocalRouteTable): string {
  return (
    el('routeTableId', table.id) +
    el('vpcId', table.vpcId) +
    el('ownerId', state.accountId) +
    itemSet('routeSet', table.routes, (route) => renderRoute(state, route)) +
    itemSet('associationSet', [], () => '') +
    itemSet('propagatingVgwSet', [], () => '') +
    tagSet(table.tags)
  );
}

/** The target id a route filter (`route.network-interface-id`, …) compares with. */
const routeTargetOf = (kind: RouteTargetKind) => (table: LocalRouteTable) =>
  table.routes.filter((route) => route.target.kind === kind).map((route) => route.target.id);

const ROUTE_TABLE_FILTERS = (state: CloudState): FilterSpec<LocalRouteTable> => ({
  fields: {
    'route-table-id': (table) => [table.id],
    'vpc-id': (table) => [table.vpcId],
    'owner-id': () => [state.accountId],
    'route.destination-cidr-block': (table) => table.routes.filter((r) => r.family === 'ipv4').map((r) => r.destination),
    'route.destination-ipv6-cidr-block': (table) => table.routes.filter((r) => r.family === 'ipv6').map(canonicalStored),
    'route.gateway-id': (table) => table.routes.filter((r) => r.target.kind === 'gateway' || r.target.kind === 'local').map((r) => r.target.id),
    'route.transit-gateway-id': routeTargetOf('transitGateway'),
    'route.nat-gateway-id': routeTargetOf('natGateway'),
    'route.vpc-peering-connection-id': routeTargetOf('vpcPeeringConnection'),
    'route.network-interface-id': routeTargetOf('networkInterface'),
    'route.instance-id': (table) =>
      table.routes.map((route) =>
        route.target.kind === 'instance' ? route.target.id : route.target.kind === 'networkInterface' ? state.networkInterfaces.get(route.target.id)?.instanceId : undefined,
      ),
    'route.origin': (table) => table.routes.map((route) => route.origin),
    'route.state': (table) => table.routes.map((route) => routeState(state, route)),
  },
  tags: (table) => table.tags,
});

// ----------------------------------------------------------------------------------------------------------
// Network interfaces and instances
// ----------------------------------------------------------------------------------------------------------

/** Instance state codes (InstanceState, EC2 API reference). */
const STATE_CODES: Record<InstanceState, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

const privateDnsName = (state: CloudState, ip: string) =>
  `ip-${ip.replace(/\./g, '-')}.${state.region === 'us-east-1' ? 'ec2.internal' : `${state.region}.compute.internal`}`;

const attachmentId = (eni: LocalNetworkInterface) => `eni-attach-${eni.id.slice('eni-'.length)}`;

/** Device index 0 for the instance's primary ENI, then the order of ids. */
function deviceIndex(state: CloudState, eni: LocalNetworkInterface): number {
  const instance = eni.instanceId ? state.instances.get(eni.instanceId) : undefined;
  if (!instance) return 0;
  if (instance.networkInterfaceId === eni.id) return 0;
  const secondaries = attachedInterfaces(state, instance).filter((other) => other.id !== instance.networkInterfaceId);
  return secondaries.findIndex((other) => other.id === eni.id) + 1;
}

function attachedInterfaces(state: CloudState, instance: LocalInstance): LocalNetworkInterface[] {
  return [...state.networkInterfaces.values()]
    .filter((eni) => eni.instanceId === instance.id)
    .sort((a, b) => (a.id === instance.networkInterfaceId ? -1 : b.id === instance.networkInterfaceId ? 1 : compare(a.id, b.id)));
}

function renderAddresses(state: CloudState, eni: LocalNetworkInterface): string {
  return (
    el('privateIpAddress', eni.privateIp) +
    el('privateDnsName', privateDnsName(state, eni.privateIp)) +
    el('sourceDestCheck', eni.sourceDestCheck) +
    itemSet('privateIpAddressesSet', [eni.privateIp], (ip) => el('privateIpAddress', ip) + el('privateDnsName', privateDnsName(state, ip)) + el('primary', true)) +
    itemSet('ipv6AddressesSet', eni.ipv6Addresses, (ip) => el('ipv6Address', ip))
  );
}

function renderNetworkInterface(state: CloudState, eni: LocalNetworkInterface): string {
  const attachment = eni.instanceId
    ? wrap(
        'attachment',
        el('attachmentId', attachmentId(eni)) +
          el('instanceId', eni.instanceId) +
          el('instanceOwnerId', state.accountId) +
          el('deviceIndex', deviceIndex(state, eni)) +
          el('networkCardIndex', 0) +
          el('status', 'attached') +
          (eni.attachTime ? el('attachTime', eni.attachTime.toISOString()) : '') +
          el('deleteOnTermination', deviceIndex(state, eni) === 0),
      )
    : '';
  return (
    el('networkInterfaceId', eni.id) +
    el('subnetId', eni.subnetId) +
    el('vpcId', eni.vpcId) +
    el('availabilityZone', state.subnets.get(eni.subnetId)?.az) +
    el('description', '') +
    el('ownerId', state.accountId) +
    el('requesterManaged', false) +
    el('status', eni.instanceId ? 'in-use' : 'available') +
    el('interfaceType', 'interface') +
    itemSet('groupSet', [], () => '') +
    attachment +
    renderAddresses(state, eni) +
    tagSet(eni.tags)
  );
}

const NETWORK_INTERFACE_FILTERS = (state: CloudState): FilterSpec<LocalNetworkInterface> => ({
  fields: {
    'network-interface-id': (eni) => [eni.id],
    'vpc-id': (eni) => [eni.vpcId],
    'subnet-id': (eni) => [eni.subnetId],
    'availability-zone': (eni) => [state.subnets.get(eni.subnetId)?.az],
    'owner-id': () => [state.accountId],
    'addresses.private-ip-address': (eni) => [eni.privateIp],
    'private-ip-address': (eni) => [eni.privateIp],
    'ipv6-addresses.ipv6-address': (eni) => eni.ipv6Addresses,
    'attachment.instance-id': (eni) => [eni.instanceId],
    'attachment.status': (eni) => [eni.instanceId ? 'attached' : undefined],
    status: (eni) => [eni.instanceId ? 'in-use' : 'available'],
    'source-dest-check': (eni) => [String(eni.sourceDestCheck)],
  },
  tags: (eni) => eni.tags,
});

function renderInstance(state: CloudState, instance: LocalInstance): string {
  const subnet = state.subnets.get(instance.subnetId);
  const terminated = instance.state === 'terminated';
  const interfaces = terminated ? [] : attachedInterfaces(state, instance);
  const primary = interfaces.find((eni) => eni.id === instance.networkInterfaceId);
  const networkInterface = (eni: LocalNetworkInterface) =>
    el('networkInterfaceId', eni.id) +
    el('subnetId', eni.subnetId) +
    el('vpcId', eni.vpcId) +
    el('description', '') +
    el('ownerId', state.accountId) +
    el('status', 'in-use') +
    el('interfaceType', 'interface') +
    itemSet('groupSet', [], () => '') +
    wrap(
      'attachment',
      el('attachmentId', attachmentId(eni)) +
        el('deviceIndex', deviceIndex(state, eni)) +
        el('networkCardIndex', 0) +
        el('status', 'attached') +
        el('deleteOnTermination', deviceIndex(state, eni) === 0),
    ) +
    renderAddresses(state, eni);
  return (
    el('instanceId', instance.id) +
    wrap('instanceState', el('code', STATE_CODES[instance.state]) + el('name', instance.state)) +
    el('privateDnsName', terminated ? '' : privateDnsName(state, instance.privateIp)) +
    el('dnsName', '') +
    el('reason', '') +
    el('amiLaunchIndex', 0) +
    el('instanceType', instance.instanceType) +
    wrap('placement', el('availabilityZone', subnet?.az) + el('tenancy', 'default')) +
    wrap('monitoring', el('state', 'disabled')) +
    (terminated ? '' : el('subnetId', instance.subnetId) + el('vpcId', subnet?.vpcId) + el('privateIpAddress', instance.privateIp)) +
    (primary ? el('sourceDestCheck', primary.sourceDestCheck) : '') +
    itemSet('groupSet', [], () => '') +
    el('rootDeviceType', 'ebs') +
    tagSet(instance.tags) +
    itemSet('networkInterfaceSet', interfaces, networkInterface)
  );
}

const INSTANCE_FILTERS = (state: CloudState): FilterSpec<LocalInstance> => ({
  fields: {
    'instance-id': (instance) => [instance.id],
    'instance-state-name': (instance) => [instance.state],
    'instance-state-code': (instance) => [String(STATE_CODES[instance.state])],
    'instance-type': (instance) => [instance.instanceType],
    'private-ip-address': (instance) => (instance.state === 'terminated' ? [] : [instance.privateIp]),
    'vpc-id': (instance) => (instance.state === 'terminated' ? [] : [vpcOfInstance(state, instance)]),
    'subnet-id': (instance) => (instance.state === 'terminated' ? [] : [instance.subnetId]),
    'availability-zone': (instance) => [state.subnets.get(instance.subnetId)?.az],
    'network-interface.network-interface-id': (instance) => attachedInterfaces(state, instance).map((eni) => eni.id),
  },
  tags: (instance) => instance.tags,
});

export interface InstanceStateChange {
  instanceId: string;
  previousState: { code: number; name: InstanceState };
  currentState: { code: number; name: InstanceState };
}

const stateOf = (name: InstanceState) => ({ code: STATE_CODES[name], name });

/**
 * Instance state transitions (EC2 user guide, "Instance state changes"). The local cloud completes each
 * transition at once, but answers the way the API does: TerminateInstances reports `shutting-down`,
 * StopInstances `stopping`, StartInstances `pending` (an instance already in the target state reports it).
 */
function transition(
  state: CloudState,
  ids: string[],
  plan: (instance: LocalInstance) => { reported: InstanceState; final: InstanceState } | AwsError,
  apply: (instance: LocalInstance) => void = () => {},
): InstanceStateChange[] {
  const instances = lookupAll('i', ids, state.instances);
  const plans = instances.map((instance) => ({ instance, plan: plan(instance) }));
  const failed = plans.find((entry) => entry.plan instanceof AwsError);
  if (failed) throw failed.plan as AwsError;
  return plans.map(({ instance, plan: step }) => {
    const { reported, final } = step as { reported: InstanceState; final: InstanceState };
    const previous = instance.state;
    instance.state = final;
    apply(instance);
    return { instanceId: instance.id, previousState: stateOf(previous), currentState: stateOf(previous === final ? final : reported) };
  });
}

/**
 * Terminating deletes the primary ENI (DeleteOnTermination is true for it) and detaches any other, so routes
 * to them turn `blackhole`. Terminating a terminated instance succeeds and changes nothing.
 */
function terminate(state: CloudState, ids: string[]): InstanceStateChange[] {
  return transition(
    state,
    ids,
    () => ({ reported: 'shutting-down', final: 'terminated' }),
    (instance) => {
      instanceDown(state, instance.id);
      for (const eni of [...state.networkInterfaces.values()]) {
        if (eni.instanceId !== instance.id) continue;
        if (eni.id === instance.networkInterfaceId) state.networkInterfaces.delete(eni.id);
        else delete eni.instanceId;
      }
    },
  );
}

function stop(state: CloudState, ids: string[]): InstanceStateChange[] {
  return transition(state, ids, (instance) =>
    instance.state === 'terminated' || instance.state === 'shutting-down'
      ? new AwsError('IncorrectInstanceState', `This instance '${instance.id}' is not in a state from which it can be stopped.`)
      : { reported: 'stopping', final: 'stopped' },
    (instance) => instanceDown(state, instance.id),
  );
}

function start(state: CloudState, ids: string[]): InstanceStateChange[] {
  return transition(state, ids, (instance) =>
    instance.state === 'terminated' || instance.state === 'shutting-down' || instance.state === 'stopping'
      ? new AwsError('IncorrectInstanceState', `The instance '${instance.id}' is not in a state from which it can be started.`)
      : { reported: 'pending', final: 'running' },
    (instance) => instanceUp(state, instance.id),
  );
}

const renderStateChanges = (changes: InstanceStateChange[]) =>
  itemSet(
    'instancesSet',
    changes,
    (change) =>
      el('instanceId', change.instanceId) +
      wrap('currentState', el('code', change.currentState.code) + el('name', change.currentState.name)) +
      wrap('previousState', el('code', change.previousState.code) + el('name', change.previousState.name)),
  );

// ----------------------------------------------------------------------------------------------------------
// Tags (CreateTags / DeleteTags)
// ----------------------------------------------------------------------------------------------------------

/**
 * EC2 API reference, CreateTags / DeleteTags, and the EC2 user guide "Tag restrictions": `ResourceId.N` and
 * `Tag.N.Key` / `Tag.N.Value`; at most 50 tags per resource (`TagLimitExceeded`), keys 1–128 and values 0–256
 * characters, keys beginning `aws:` reserved; a resource that does not exist fails the whole call with its
 * type's NotFound code, an id that names no resource at all is `InvalidID`. Both answer `<return>true</return>`.
 */
export const MAX_TAGS_PER_RESOURCE = 50;

/** The resources the local cloud can tag, by id prefix. */
const TAGGABLE = {
  eni: (state: CloudState) => state.networkInterfaces,
  i: (state: CloudState) => state.instances,
  rtb: (state: CloudState) => state.routeTables,
} satisfies Partial<Record<IdKind, (state: CloudState) => Map<string, { tags: Record<string, string> }>>>;

/** The resources named by `ResourceId.N`, all or none: every missing one of the first kind is named. */
function taggedResources(state: CloudState, params: Params): { tags: Record<string, string> }[] {
  const ids = [...new Set(params.list('ResourceId'))];
  if (ids.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter ResourceId');
  const missing = new Map<IdKind, string[]>();
  const found: { tags: Record<string, string> }[] = [];
  for (const id of ids) {
    const kind = (Object.keys(TAGGABLE) as (keyof typeof TAGGABLE)[]).find((prefix) => id.startsWith(`${prefix}-`));
    if (!kind) {
      // A real EC2 resource this cloud does not model (vpc-, subnet-, tgw-, …) is refused rather than half-modelled.
      if (/^[a-z]+(-[a-z]+)*-[0-9a-f]{8,17}$/.test(id)) throw new AwsError('InvalidParameterValue', `The local cloud does not model tags on '${id.replace(/-[0-9a-f]+$/, '')}' resources`);
      throw new AwsError('InvalidID', `The ID '${id}' is not valid`);
    }
    if (!new RegExp(`^${kind}-[0-9a-f]{8,17}$`).test(id)) throw new AwsError('InvalidID', `The ID '${id}' is not valid`);
    const resource = TAGGABLE[kind](state).get(id);
    if (resource) found.push(resource);
    else missing.set(kind, [...(missing.get(kind) ?? []), id]);
  }
  const [kind, unknown] = [...missing.entries()][0] ?? [];
  if (kind && unknown) throw notFound(kind, unknown);
  return found;
}

interface TagParam {
  key: string;
  /** Absent (undefined) is not the same as empty for DeleteTags. */
  value: string | undefined;
}

function tagParams(params: Params): TagParam[] {
  return params.indices('Tag').map((n) => {
    const key = params.raw(`Tag.${n}.Key`);
    if (key === undefined || key === '') throw new AwsError('MissingParameter', `The request must contain the parameter Tag.${n}.Key`);
    if (key.length > 128) throw new AwsError('InvalidParameterValue', `Tag key exceeds the maximum length of 128 characters: ${key.slice(0, 20)}...`);
    if (key.toLowerCase().startsWith('aws:')) throw new AwsError('InvalidParameterValue', "Tag keys starting with 'aws:' are reserved for internal use");
    const value = params.raw(`Tag.${n}.Value`);
    if (value !== undefined && value.length > 256) throw new AwsError('InvalidParameterValue', `Tag value exceeds the maximum length of 256 characters for key ${key}`);
    return { key, value };
  });
}

function createTags(state: CloudState, params: Params): void {
  const resources = taggedResources(state, params);
  const tags = tagParams(params);
  if (tags.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter Tag');
  const added = Object.fromEntries(tags.map((tag) => [tag.key, tag.value ?? '']));
  // Checked for every resource before any changes: the call is all or nothing.
  if (resources.some((resource) => Object.keys({ ...resource.tags, ...added }).length > MAX_TAGS_PER_RESOURCE)) {
    throw new AwsError('TagLimitExceeded', `The maximum number of Tags for a resource has been reached (${MAX_TAGS_PER_RESOURCE}).`);
  }
  for (const resource of resources) Object.assign(resource.tags, added);
}

/**
 * DeleteTags: "If you omit this parameter [Tag.N], we delete all user-defined tags for the specified
 * resources"; a tag without Value is deleted whatever its value; with a Value (even empty) only if the value
 * matches. Deleting a tag the resource does not have is not an error.
 */
function deleteTags(state: CloudState, params: Params): void {
  const resources = taggedResources(state, params);
  const tags = tagParams(params);
  for (const resource of resources) {
    if (tags.length === 0) {
      for (const key of Object.keys(resource.tags)) delete resource.tags[key];
      continue;
    }
    for (const { key, value } of tags) {
      if (Object.hasOwn(resource.tags, key) && (value === undefined || resource.tags[key] === value)) delete resource.tags[key];
    }
  }
}

// ----------------------------------------------------------------------------------------------------------
// Actions
// ----------------------------------------------------------------------------------------------------------

type Action = (params: Params, state: CloudState) => AwsResponse;

const ACTIONS: Record<string, Action> = {
  DescribeRouteTables(params, state) {
    const ids = params.list('RouteTableId');
    const filters = params.filters();
    let tables = ids.length > 0 ? lookupAll('rtb', ids, state.routeTables) : [...state.routeTables.values()];
    tables = applyFilters(tables, filters, ROUTE_TABLE_FILTERS(state));
    const { page, nextToken } = paginate('DescribeRouteTables', tables, (table) => table.id, params);
    return ok('DescribeRouteTables', itemSet('routeTableSet', page, (table) => renderRouteTable(state, table)) + el('nextToken', nextToken));
  },

  CreateRoute(params, state) {
    const table = routeTableFrom(state, params);
    const destination = destinationFrom(params);
    createRouteIn(state, table, destination, targetFrom(state, table, params, false));
    return returnTrue('CreateRoute');
  },

  ReplaceRoute(params, state) {
    const table = routeTableFrom(state, params);
    const destination = destinationFrom(params);
    replaceRouteIn(table, destination, targetFrom(state, table, params, true));
    return returnTrue('ReplaceRoute');
  },

  DeleteRoute(params, state) {
    const table = routeTableFrom(state, params);
    deleteRouteIn(table, destinationFrom(params));
    return returnTrue('DeleteRoute');
  },

  DescribeNetworkInterfaces(params, state) {
    const ids = params.list('NetworkInterfaceId');
    rejectMaxResultsWithIds(params, ids, 'networkInterfaceIds');
    const filters = params.filters();
    let interfaces = ids.length > 0 ? lookupAll('eni', ids, state.networkInterfaces) : [...state.networkInterfaces.values()];
    interfaces = applyFilters(interfaces, filters, NETWORK_INTERFACE_FILTERS(state));
    const { page, nextToken } = paginate('DescribeNetworkInterfaces', interfaces, (eni) => eni.id, params);
    return ok(
      'DescribeNetworkInterfaces',
      itemSet('networkInterfaceSet', page, (eni) => renderNetworkInterface(state, eni)) + el('nextToken', nextToken),
    );
  },

  ModifyNetworkInterfaceAttribute(params, state) {
    const eni = lookup('eni', params.required('NetworkInterfaceId'), state.networkInterfaces);
    const sourceDestCheck = params.bool('SourceDestCheck.Value');
    if (sourceDestCheck !== undefined) eni.sourceDestCheck = sourceDestCheck;
    return returnTrue('ModifyNetworkInterfaceAttribute');
  },

  DescribeInstances(params, state) {
    const ids = params.list('InstanceId');
    rejectMaxResultsWithIds(params, ids, 'instancesSet');
    const filters = params.filters();
    let instances = ids.length > 0 ? lookupAll('i', ids, state.instances) : [...state.instances.values()];
    instances = applyFilters(instances, filters, INSTANCE_FILTERS(state));
    const { page, nextToken } = paginate('DescribeInstances', instances, (instance) => instance.id, params);
    // One reservation per instance, as when each was launched by its own RunInstances call.
    const reservations = itemSet(
      'reservationSet',
      page,
      (instance) =>
        el('reservationId', `r-${instance.id.slice('i-'.length)}`) +
        el('ownerId', state.accountId) +
        itemSet('groupSet', [], () => '') +
        itemSet('instancesSet', [instance], (item) => renderInstance(state, item)),
    );
    return ok('DescribeInstances', reservations + el('nextToken', nextToken));
  },

  CreateTags(params, state) {
    createTags(state, params);
    return returnTrue('CreateTags');
  },

  DeleteTags(params, state) {
    deleteTags(state, params);
    return returnTrue('DeleteTags');
  },

  TerminateInstances: (params, state) => ok('TerminateInstances', renderStateChanges(terminate(state, instanceIdsFrom(params)))),
  StopInstances: (params, state) => ok('StopInstances', renderStateChanges(stop(state, instanceIdsFrom(params)))),
  StartInstances: (params, state) => ok('StartInstances', renderStateChanges(start(state, instanceIdsFrom(params)))),
};

function instanceIdsFrom(params: Params): string[] {
  const ids = params.list('InstanceId');
  if (ids.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
  return ids;
}

/** Error statuses: 503 for throttling and unavailability, 500 for internal errors, else the error's own. */
function errorStatus(error: AwsError): number {
  if (error.code === 'RequestLimitExceeded' || error.code === 'Unavailable') return 503;
  if (error.code === 'InternalError' || error.code === 'InternalFailure') return 500;
  return error.status;
}

export const ec2Handler: ServiceHandler = {
  service: 'ec2',

  actionOf(request) {
    const action = Params.of(request).get('Action');
    if (action === undefined) throw new AwsError('MissingAction', 'The request must contain the parameter Action');
    return action;
  },

  handle(request, action, state) {
    const run = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
    if (!run) throw new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`);
    const params = Params.of(request);
    // DryRun: "If you have the required permissions, the error response is DryRunOperation" (HTTP 412).
    if (params.bool('DryRun') === true) throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    return run(params, state);
  },

  errorResponse(error) {
    const id = requestId();
    return {
      status: errorStatus(error),
      headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': id },
      body:
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<Response><Errors><Error>${el('Code', error.code)}${el('Message', error.message)}</Error></Errors>${el('RequestID', id)}</Response>`,
    };
  },
};

// ----------------------------------------------------------------------------------------------------------
// Scenario helpers (control plane): the API's own code paths
// ----------------------------------------------------------------------------------------------------------

/** TerminateInstances for one instance: its primary ENI is deleted, routes to it turn blackhole. */
export function terminateInstance(state: CloudState, instanceId: string): InstanceStateChange {
  return terminate(state, [instanceId])[0]!;
}

/** StopInstances for one instance: the ENI stays attached, routes to it turn blackhole until it starts. */
export function stopInstance(state: CloudState, instanceId: string): InstanceStateChange {
  return stop(state, [instanceId])[0]!;
}

export function startInstance(state: CloudState, instanceId: string): InstanceStateChange {
  return start(state, [instanceId])[0]!;
}

export interface AddRouteInput {
  destination: string;
  networkInterfaceId?: string;
  transitGatewayId?: string;
  gatewayId?: string;
  natGatewayId?: string;
  vpcPeeringConnectionId?: string;
}

/**
 * A route added by hand (console or CLI): CreateRoute, or ReplaceRoute when the destination is already
 * routed, with the same validation, quota and errors as the API.
 */
export function addRoute(
  state: CloudState,
  routeTableId: string,
  route: AddRouteInput,
): { routeTableId: string; destination: string; outcome: 'created' | 'replaced' } {
  const values = new Map<string, string>([['RouteTableId', routeTableId]]);
  values.set(route.destination.includes(':') ? 'DestinationIpv6CidrBlock' : 'DestinationCidrBlock', route.destination);
  const fields: [keyof AddRouteInput, string][] = [
    ['networkInterfaceId', 'NetworkInterfaceId'],
    ['transitGatewayId', 'TransitGatewayId'],
    ['gatewayId', 'GatewayId'],
    ['natGatewayId', 'NatGatewayId'],
    ['vpcPeeringConnectionId', 'VpcPeeringConnectionId'],
  ];
  for (const [field, parameter] of fields) if (route[field] !== undefined) values.set(parameter, route[field]);
  const params = new Params(values);
  const table = routeTableFrom(state, params);
  const destination = destinationFrom(params);
  const target = targetFrom(state, table, params, false);
  if (findRoute(table, destination)) {
    replaceRouteIn(table, destination, target);
    return { routeTableId: table.id, destination: destination.cidr, outcome: 'replaced' };
  }
  createRouteIn(state, table, destination, target);
  return { routeTableId: table.id, destination: destination.cidr, outcome: 'created' };
}
