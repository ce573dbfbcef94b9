/**
 * The local EC2 handler, called directly with Query-protocol requests: response shapes, filters,
 * pagination, every error code it answers with, route states, quotas and instance state changes.
 */
import { addRoute, ec2Handler, startInstance, stopInstance, terminateInstance } from '../../localcloud/ec2.js';
import { AwsError, type AwsRequest } from '../../localcloud/protocol.js';
import { buildState, defaultScenario, loadScenario } from '../../localcloud/scenario.js';
import type { CloudState, LocalNetworkInterface } from '../../localcloud/state.js';

const VPC = 'vpc-0a1b2c3d4e5f60718';
const OTHER_VPC = 'vpc-0e0e0e0e0e0e0e0e1';
const RTB_A = 'rtb-0a1b2c3d4e5f60101';
const RTB_B = 'rtb-0a1b2c3d4e5f60102';
const RTB_C = 'rtb-0a1b2c3d4e5f60103';
const ENI_1 = 'eni-0a1b2c3d4e5f60001';
const ENI_2 = 'eni-0a1b2c3d4e5f60002';
const I_1 = 'i-0a1b2c3d4e5f60001';
const I_2 = 'i-0a1b2c3d4e5f60002';
const I_3 = 'i-0a1b2c3d4e5f60003';
const TGW = 'tgw-0a1b2c3d4e5f60718';

// ---------------------------------------------------------------------------------------------------------
// A minimal XML reader for the handler's (attribute-free, well-formed) answers
// ---------------------------------------------------------------------------------------------------------

interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#root', children: [], text: '' };
  const stack = [root];
  const decode = (text: string) =>
    text.replace(/&(lt|gt|amp|apos|quot);/g, (_, entity: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[entity]!);
  const pattern = /<\?[^>]*\?>|<(\/?)([A-Za-z][\w.:-]*)[^>]*?(\/?)>|([^<]+)/g;
  for (const match of xml.matchAll(pattern)) {
    const top = stack.at(-1)!;
    if (match[4] !== undefined) top.text += decode(match[4]);
    else if (match[2] === undefined) continue;
    else if (match[1] === '/') {
      expect(top.name).toBe(match[2]);
      stack.pop();
    } else {
      const node: XmlNode = { name: match[2], children: [], text: '' };
      top.children.push(node);
      if (match[3] !== '/') stack.push(node);
    }
  }
  expect(stack).toHaveLength(1);
  return root.children[0]!;
}

const child = (node: XmlNode | undefined, name: string) => node?.children.find((c) => c.name === name);
const text = (node: XmlNode | undefined, name: string) => child(node, name)?.text;
const items = (node: XmlNode | undefined, setName: string) => child(node, setName)?.children.filter((c) => c.name === 'item') ?? [];

// ---------------------------------------------------------------------------------------------------------
// Calling the handler
// ---------------------------------------------------------------------------------------------------------

type ParamValue = string | number | boolean | string[] | undefined;

/** Query parameters with lists (`Name: [...]` → `Name.1…`) and filters (`Filter: {name: [values]}`). */
function request(action: string | undefined, params: Record<string, ParamValue> = {}, filters: Record<string, string[]> = {}): AwsRequest {
  const body = new URLSearchParams();
  if (action !== undefined) body.set('Action', action);
  body.set('Version', '2016-11-15');
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) value.forEach((item, i) => body.set(`${key}.${i + 1}`, item));
    else body.set(key, String(value));
  }
  Object.entries(filters).forEach(([name, values], i) => {
    body.set(`Filter.${i + 1}.Name`, name);
    values.forEach((value, j) => body.set(`Filter.${i + 1}.Value.${j + 1}`, value));
  });
  return { service: 'ec2', method: 'POST', path: '/', query: new URLSearchParams(), headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: body.toString() };
}

/** Runs a call the way the server does: errors thrown become the handler's error response. */
async function call(state: CloudState, action: string, params: Record<string, ParamValue> = {}, filters: Record<string, string[]> = {}) {
  const req = request(action, params, filters);
  try {
    const out = await ec2Handler.handle(req, ec2Handler.actionOf(req), state);
    return { status: out.status, body: out.body, xml: parseXml(out.body) };
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    const out = ec2Handler.errorResponse(error, action);
    return { status: out.status, body: out.body, xml: parseXml(out.body) };
  }
}

async function succeed(state: CloudState, action: string, params: Record<string, ParamValue> = {}, filters: Record<string, string[]> = {}) {
  const result = await call(state, action, params, filters);
  if (result.status !== 200) throw new Error(`${action} failed: ${result.body}`);
  expect(result.xml.name).toBe(`${action}Response`);
  expect(text(result.xml, 'requestId')).toMatch(/^[0-9a-f-]{36}$/);
  return result.xml;
}

async function fail(state: CloudState, action: string, params: Record<string, ParamValue> = {}, filters: Record<string, string[]> = {}) {
  const result = await call(state, action, params, filters);
  expect(result.status).not.toBe(200);
  expect(result.xml.name).toBe('Response');
  const error = child(child(result.xml, 'Errors'), 'Error');
  expect(text(result.xml, 'RequestID')).toMatch(/^[0-9a-f-]{36}$/);
  return { status: result.status, code: text(error, 'Code'), message: text(error, 'Message') };
}

// ---------------------------------------------------------------------------------------------------------
// State helpers
// ---------------------------------------------------------------------------------------------------------

let state: CloudState;
beforeEach(() => {
  state = loadScenario();
});

const hex17 = (n: number) => n.toString(16).padStart(17, '0');

/** Unattached ENIs in the remote VPC with addresses 10.20.200+.x (created in the state directly). */
function addEnis(count: number, vpcId = VPC): LocalNetworkInterface[] {
  const first = state.networkInterfaces.size;
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    const eni: LocalNetworkInterface = {
      id: `eni-${hex17(0xf0000 + n)}`,
      vpcId,
      subnetId: 'subnet-0a1b2c3d4e5f60001',
      privateIp: `10.20.${200 + Math.floor(n / 250)}.${(n % 250) + 1}`,
      ipv6Addresses: [],
      sourceDestCheck: true,
      tags: {},
    };
    state.networkInterfaces.set(eni.id, eni);
    return eni;
  });
}

async function routesOf(tableId: string) {
  const xml = await succeed(state, 'DescribeRouteTables', { RouteTableId: [tableId] });
  return items(items(xml, 'routeTableSet')[0], 'routeSet').map((route) => Object.fromEntries(route.children.map((c) => [c.name, c.text])));
}

async function routeTo(tableId: string, destination: string) {
  return (await routesOf(tableId)).find((route) => (route.destinationCidrBlock ?? route.destinationIpv6CidrBlock) === destination);
}

/** Follows NextToken to the end, returning the ids per page. */
async function allPages(action: string, setName: string, idName: string, params: Record<string, ParamValue>, filters: Record<string, string[]> = {}) {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const xml = await succeed(state, action, { ...params, NextToken: token }, filters);
    const set = action === 'DescribeInstances' ? items(xml, 'reservationSet').flatMap((r) => items(r, 'instancesSet')) : items(xml, setName);
    pages.push(set.map((item) => text(item, idName)!));
    token = text(xml, 'nextToken');
  } while (token !== undefined && pages.length < 100);
  return pages;
}

// ---------------------------------------------------------------------------------------------------------

describe('protocol', () => {
  test('actionOf reads Action from the form body or the query string', () => {
    expect(ec2Handler.actionOf(request('DescribeRouteTables'))).toBe('DescribeRouteTables');
    const get: AwsRequest = { ...request(undefined), method: 'GET', body: '', query: new URLSearchParams('Action=DescribeInstances&Version=2016-11-15') };
    expect(ec2Handler.actionOf(get)).toBe('DescribeInstances');
  });

  test('a request without Action is MissingAction', () => {
    expect(() => ec2Handler.actionOf(request(undefined))).toThrow(expect.objectContaining({ code: 'MissingAction', status: 400 }));
  });

  test('an unknown action is InvalidAction (400), also for Object prototype names', async () => {
    expect(await fail(state, 'DescribeVpcs')).toEqual({ status: 400, code: 'InvalidAction', message: 'The action DescribeVpcs is not valid for this web service.' });
    expect((await fail(state, 'toString')).code).toBe('InvalidAction');
  });

  test('success answers are namespaced XML with a request id in body and header', async () => {
    const req = request('DescribeRouteTables');
    const out = await ec2Handler.handle(req, 'DescribeRouteTables', state);
    expect(out.headers['content-type']).toBe('text/xml;charset=UTF-8');
    expect(out.body).toContain('<DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">');
    expect(out.body).toContain(`<requestId>${out.headers['x-amzn-requestid']}</requestId>`);
  });

  test('errors are <Response><Errors><Error>, 503 for RequestLimitExceeded/Unavailable, 500 for InternalError', () => {
    const render = (code: string, status = 400) => {
      const out = ec2Handler.errorResponse(new AwsError(code, 'm <&>', status), 'CreateRoute');
      const xml = parseXml(out.body);
      expect(text(child(child(xml, 'Errors'), 'Error'), 'Message')).toBe('m <&>');
      expect(text(xml, 'RequestID')).toBe(out.headers['x-amzn-requestid']);
      return { status: out.status, code: text(child(child(xml, 'Errors'), 'Error'), 'Code') };
    };
    expect(render('InvalidRoute.NotFound')).toEqual({ status: 400, code: 'InvalidRoute.NotFound' });
    expect(render('RequestLimitExceeded', 500)).toEqual({ status: 503, code: 'RequestLimitExceeded' });
    expect(render('Unavailable')).toEqual({ status: 503, code: 'Unavailable' });
    expect(render('InternalError', 400)).toEqual({ status: 500, code: 'InternalError' });
  });

  test('DryRun=true answers DryRunOperation (412) and changes nothing', async () => {
    expect(await fail(state, 'DeleteRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.10.0.0/16', DryRun: true })).toMatchObject({ status: 412, code: 'DryRunOperation' });
    expect(await routeTo(RTB_A, '10.10.0.0/16')).toBeDefined();
  });
});

describe('DescribeRouteTables', () => {
  test('renders every table with its local route, target fields, state, origin and tags', async () => {
    const xml = await succeed(state, 'DescribeRouteTables');
    const tables = items(xml, 'routeTableSet');
    expect(tables.map((t) => text(t, 'routeTableId'))).toEqual([RTB_A, RTB_B, RTB_C]);
    const table = tables[0]!;
    expect(text(table, 'vpcId')).toBe(VPC);
    expect(text(table, 'ownerId')).toBe('123456789012');
    expect(items(table, 'tagSet').map((t) => [text(t, 'key'), text(t, 'value')])).toEqual([
      ['Name', 'idc-tgw-us-west-2a'],
      ['eks-hybrid-routes/managed', 'true'],
    ]);
    expect(child(table, 'associationSet')?.children).toEqual([]);
    expect(await routesOf(RTB_A)).toEqual([
      { destinationCidrBlock: '10.20.0.0/16', gatewayId: 'local', state: 'active', origin: 'CreateRouteTable' },
      { destinationCidrBlock: '10.10.0.0/16', transitGatewayId: TGW, state: 'active', origin: 'CreateRoute' },
    ]);
    expect(text(xml, 'nextToken')).toBeUndefined();
  });

  test('an ENI route names the attached instance and its owner', async () => {
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 });
    expect(await routeTo(RTB_A, '10.30.0.0/24')).toEqual({
      destinationCidrBlock: '10.30.0.0/24',
      instanceId: I_1,
      instanceOwnerId: '123456789012',
      networkInterfaceId: ENI_1,
      state: 'active',
      origin: 'CreateRoute',
    });
  });

  test('RouteTableId.N selects tables; unknown ids are InvalidRouteTableID.NotFound, listed together', async () => {
    const xml = await succeed(state, 'DescribeRouteTables', { RouteTableId: [RTB_C, RTB_A, RTB_C] });
    expect(items(xml, 'routeTableSet').map((t) => text(t, 'routeTableId'))).toEqual([RTB_A, RTB_C]);
    expect(await fail(state, 'DescribeRouteTables', { RouteTableId: [RTB_A, 'rtb-00000000000000001'] })).toEqual({
      status: 400,
      code: 'InvalidRouteTableID.NotFound',
      message: "The routeTable ID 'rtb-00000000000000001' does not exist",
    });
    expect((await fail(state, 'DescribeRouteTables', { RouteTableId: ['rtb-00000000000000001', 'rtb-00000000000000002'] })).message).toBe(
      "The routeTable IDs 'rtb-00000000000000001, rtb-00000000000000002' do not exist",
    );
  });

  test('a malformed id is InvalidRouteTableId.Malformed', async () => {
    expect(await fail(state, 'DescribeRouteTables', { RouteTableId: ['igw-0a1b2c3d'] })).toMatchObject({ code: 'InvalidRouteTableId.Malformed' });
  });

  test('filters: vpc-id, route-table-id, tag:<key> with wildcards, tag-key, route.* (AND across, OR within)', async () => {
    const ids = async (filters: Record<string, string[]>) =>
      items(await succeed(state, 'DescribeRouteTables', {}, filters), 'routeTableSet').map((t) => text(t, 'routeTableId'));
    expect(await ids({ 'vpc-id': [VPC] })).toEqual([RTB_A, RTB_B, RTB_C]);
    expect(await ids({ 'vpc-id': [OTHER_VPC] })).toEqual([]);
    expect(await ids({ 'route-table-id': [RTB_B, RTB_C] })).toEqual([RTB_B, RTB_C]);
    expect(await ids({ 'tag:Name': ['idc-tgw-us-west-2?'], 'route-table-id': [RTB_A, RTB_B] })).toEqual([RTB_A, RTB_B]);
    expect(await ids({ 'tag:Name': ['*-2c'] })).toEqual([RTB_C]);
    expect(await ids({ 'tag:eks-hybrid-routes/managed': ['true'] })).toEqual([RTB_A, RTB_B, RTB_C]);
    expect(await ids({ 'tag:eks-hybrid-routes/managed': ['false'] })).toEqual([]);
    expect(await ids({ 'tag-key': ['Name'] })).toEqual([RTB_A, RTB_B, RTB_C]);
    expect(await ids({ 'tag-key': ['Owner'] })).toEqual([]);
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_B, DestinationCidrBlock: '10.30.1.0/24', NetworkInterfaceId: ENI_2 });
    expect(await ids({ 'route.network-interface-id': [ENI_2] })).toEqual([RTB_B]);
    expect(await ids({ 'route.destination-cidr-block': ['10.30.*'] })).toEqual([RTB_B]);
    expect(await ids({ 'route.instance-id': [I_2] })).toEqual([RTB_B]);
    expect(await ids({ 'route.transit-gateway-id': [TGW], 'route.origin': ['CreateRouteTable'] })).toEqual([RTB_A, RTB_B, RTB_C]);
  });

  test('an unknown filter name is InvalidParameterValue', async () => {
    expect(await fail(state, 'DescribeRouteTables', {}, { 'vpc-idd': [VPC] })).toEqual({ status: 400, code: 'InvalidParameterValue', message: "The filter 'vpc-idd' is invalid" });
  });

  test('more than 200 filter values in total is FilterLimitExceeded; exactly 200 is fine', async () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => `rtb-${hex17(i)}`);
    await succeed(state, 'DescribeRouteTables', {}, { 'vpc-id': [VPC], 'route-table-id': values(199) });
    expect(await fail(state, 'DescribeRouteTables', {}, { 'vpc-id': [VPC], 'route-table-id': values(200) })).toEqual({
      status: 400,
      code: 'FilterLimitExceeded',
      message: 'The maximum number of filter values specified on a single call is 200',
    });
  });

  test('MaxResults pages through every table once, in id order, with NextToken while more remain', async () => {
    for (let n = 0; n < 9; n++) {
      state.routeTables.set(`rtb-${hex17(n)}`, { id: `rtb-${hex17(n)}`, vpcId: VPC, tags: { extra: 'yes' }, routes: [] });
    }
    const pages = await allPages('DescribeRouteTables', 'routeTableSet', 'routeTableId', { MaxResults: 5 });
    expect(pages.map((page) => page.length)).toEqual([5, 5, 2]);
    const all = pages.flat();
    expect(new Set(all).size).toBe(12);
    expect(all).toEqual([...all].sort());
    // The same with a filter: only the 9 tagged tables.
    const filtered = await allPages('DescribeRouteTables', 'routeTableSet', 'routeTableId', { MaxResults: 5 }, { 'tag:extra': ['yes'] });
    expect(filtered.map((page) => page.length)).toEqual([5, 4]);
  });

  test('a page boundary survives a table deleted between pages', async () => {
    for (let n = 0; n < 7; n++) state.routeTables.set(`rtb-${hex17(n)}`, { id: `rtb-${hex17(n)}`, vpcId: VPC, tags: {}, routes: [] });
    const first = await succeed(state, 'DescribeRouteTables', { MaxResults: 5 });
    const firstIds = items(first, 'routeTableSet').map((t) => text(t, 'routeTableId')!);
    state.routeTables.delete(firstIds.at(-1)!);
    const second = await succeed(state, 'DescribeRouteTables', { MaxResults: 5, NextToken: text(first, 'nextToken') });
    const secondIds = items(second, 'routeTableSet').map((t) => text(t, 'routeTableId')!);
    expect(secondIds).toHaveLength(5);
    expect(secondIds.filter((id) => firstIds.includes(id))).toEqual([]);
  });

  test('MaxResults outside 5–100 is InvalidParameterValue; with RouteTableId.N it is accepted', async () => {
    expect(await fail(state, 'DescribeRouteTables', { MaxResults: 4 })).toMatchObject({ code: 'InvalidParameterValue', message: expect.stringContaining('maxResults') });
    expect(await fail(state, 'DescribeRouteTables', { MaxResults: 101 })).toMatchObject({ code: 'InvalidParameterValue' });
    expect(await fail(state, 'DescribeRouteTables', { MaxResults: 'ten' })).toMatchObject({ code: 'InvalidParameterValue' });
    await succeed(state, 'DescribeRouteTables', { MaxResults: 100 });
    const xml = await succeed(state, 'DescribeRouteTables', { MaxResults: 5, RouteTableId: [RTB_A, RTB_B] });
    expect(items(xml, 'routeTableSet')).toHaveLength(2);
  });

  test('a garbled NextToken, or one from another action, is InvalidPaginationToken', async () => {
    expect(await fail(state, 'DescribeRouteTables', { MaxResults: 5, NextToken: 'garbage' })).toMatchObject({ status: 400, code: 'InvalidPaginationToken' });
    addEnis(7);
    const eniPage = await succeed(state, 'DescribeNetworkInterfaces', { MaxResults: 5 });
    const token = text(eniPage, 'nextToken');
    expect(token).toBeDefined();
    expect(await fail(state, 'DescribeRouteTables', { MaxResults: 5, NextToken: token })).toMatchObject({ code: 'InvalidPaginationToken' });
  });
});

describe('CreateRoute', () => {
  test('adds an active CreateRoute route to an ENI', async () => {
    const xml = await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 });
    expect(text(xml, 'return')).toBe('true');
    expect(state.routeTables.get(RTB_A)!.routes.at(-1)).toEqual({
      destination: '10.30.0.0/24',
      family: 'ipv4',
      origin: 'CreateRoute',
      target: { kind: 'networkInterface', id: ENI_1 },
    });
  });

  test('a second route for the same destination is RouteAlreadyExists, whatever its target', async () => {
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 });
    expect(await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 })).toEqual({
      status: 400,
      code: 'RouteAlreadyExists',
      message: 'The route identified by 10.30.0.0/24 already exists.',
    });
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.20.0.0/16', TransitGatewayId: TGW })).code).toBe('RouteAlreadyExists');
  });

  test('unknown table, unknown ENI and malformed ids', async () => {
    expect(await fail(state, 'CreateRoute', { RouteTableId: 'rtb-00000000000000009', DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 })).toEqual({
      status: 400,
      code: 'InvalidRouteTableID.NotFound',
      message: "The routeTable ID 'rtb-00000000000000009' does not exist",
    });
    expect(await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: 'eni-00000000000000009' })).toEqual({
      status: 400,
      code: 'InvalidNetworkInterfaceID.NotFound',
      message: "The networkInterface ID 'eni-00000000000000009' does not exist",
    });
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: 'i-0a1b2c3d' })).code).toBe(
      'InvalidNetworkInterfaceId.Malformed',
    );
  });

  test('an ENI in another VPC is InvalidParameterValue', async () => {
    const [foreign] = addEnis(1, OTHER_VPC);
    expect(await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: foreign!.id })).toEqual({
      status: 400,
      code: 'InvalidParameterValue',
      message: `route table ${RTB_A} and network interface ${foreign!.id} belong to different networks`,
    });
  });

  test.each(['10.30.0.1/24', '10.30.0.0/33', '10.30.0/24', '10.30.0.0', '010.30.0.0/24', '10.300.0.0/24', '2001:db8::/64', 'x'])(
    'DestinationCidrBlock %s is InvalidParameterValue',
    async (cidr) => {
      expect(await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: cidr, NetworkInterfaceId: ENI_1 })).toEqual({
        status: 400,
        code: 'InvalidParameterValue',
        message: `Value (${cidr}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`,
      });
    },
  );

  test('IPv6 destinations are stored canonical and matched in any spelling', async () => {
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationIpv6CidrBlock: '2001:DB8:0:0::/64', NetworkInterfaceId: ENI_1 });
    expect(await routeTo(RTB_A, '2001:db8::/64')).toMatchObject({ destinationIpv6CidrBlock: '2001:db8::/64', networkInterfaceId: ENI_1, state: 'active' });
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationIpv6CidrBlock: '2001:db8::/64', NetworkInterfaceId: ENI_1 })).code).toBe('RouteAlreadyExists');
    await succeed(state, 'DeleteRoute', { RouteTableId: RTB_A, DestinationIpv6CidrBlock: '2001:0db8::/64' });
    expect(await routeTo(RTB_A, '2001:db8::/64')).toBeUndefined();
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationIpv6CidrBlock: '2001:db8::1/64', NetworkInterfaceId: ENI_1 })).code).toBe('InvalidParameterValue');
  });

  test('InstanceId stands for the instance primary ENI', async () => {
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.2.0/24', InstanceId: I_3 });
    expect(await routeTo(RTB_A, '10.30.2.0/24')).toMatchObject({ instanceId: I_3, networkInterfaceId: 'eni-0a1b2c3d4e5f60003', state: 'active' });
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.3.0/24', InstanceId: 'i-00000000000000009' })).code).toBe(
      'InvalidInstanceID.NotFound',
    );
  });

  test('other targets: transit, internet, NAT gateways and peering connections', async () => {
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0123456789abcdef0' });
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '192.168.0.0/16', NatGatewayId: 'nat-0123456789abcdef0' });
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '172.16.0.0/12', VpcPeeringConnectionId: 'pcx-0123456789abcdef0' });
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.40.0.0/16', TransitGatewayId: TGW });
    expect(await routeTo(RTB_A, '0.0.0.0/0')).toMatchObject({ gatewayId: 'igw-0123456789abcdef0', state: 'active' });
    expect(await routeTo(RTB_A, '192.168.0.0/16')).toMatchObject({ natGatewayId: 'nat-0123456789abcdef0' });
    expect(await routeTo(RTB_A, '172.16.0.0/12')).toMatchObject({ vpcPeeringConnectionId: 'pcx-0123456789abcdef0' });
    expect(await routeTo(RTB_A, '10.40.0.0/16')).toMatchObject({ transitGatewayId: TGW });
  });

  test('missing or doubled destination and target parameters', async () => {
    expect((await fail(state, 'CreateRoute', { DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 })).code).toBe('MissingParameter');
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, NetworkInterfaceId: ENI_1 })).code).toBe('MissingParameter');
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24' })).code).toBe('MissingParameter');
    expect(
      (await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', DestinationIpv6CidrBlock: '2001:db8::/64', NetworkInterfaceId: ENI_1 })).code,
    ).toBe('InvalidParameterCombination');
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1, TransitGatewayId: TGW })).code).toBe(
      'InvalidParameterCombination',
    );
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationPrefixListId: 'pl-0123456789abcdef0', NetworkInterfaceId: ENI_1 })).code).toBe(
      'InvalidPrefixListID.NotFound',
    );
  });

  test('RouteLimitExceeded at the quota, counting the local route, per address family', async () => {
    state.quotas.routesPerRouteTable = 5; // the table holds local + the TGW route: room for 3 more IPv4 routes
    for (const n of [0, 1, 2]) await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: `10.30.${n}.0/24`, NetworkInterfaceId: ENI_1 });
    expect(await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.3.0/24', NetworkInterfaceId: ENI_1 })).toEqual({
      status: 400,
      code: 'RouteLimitExceeded',
      message: `The maximum number of routes (5) has been reached for route table ${RTB_A}.`,
    });
    // IPv6 routes have their own quota; other tables are unaffected; replacing needs no room.
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationIpv6CidrBlock: '2001:db8::/64', NetworkInterfaceId: ENI_1 });
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_B, DestinationCidrBlock: '10.30.3.0/24', NetworkInterfaceId: ENI_1 });
    await succeed(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_2 });
    // Deleting a route frees its slot.
    await succeed(state, 'DeleteRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.2.0/24' });
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.3.0/24', NetworkInterfaceId: ENI_1 });
  });

  test('propagated routes do not count toward the quota', async () => {
    state.quotas.routesPerRouteTable = 3;
    state.routeTables.get(RTB_A)!.routes.push({ destination: '10.50.0.0/16', family: 'ipv4', origin: 'EnableVgwRoutePropagation', target: { kind: 'gateway', id: 'vgw-0123456789abcdef0' } });
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 });
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.1.0/24', NetworkInterfaceId: ENI_1 })).code).toBe('RouteLimitExceeded');
  });
});

describe('ReplaceRoute', () => {
  test('swaps the target and keeps the origin', async () => {
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 });
    const xml = await succeed(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_2 });
    expect(text(xml, 'return')).toBe('true');
    expect(await routeTo(RTB_A, '10.30.0.0/24')).toMatchObject({ networkInterfaceId: ENI_2, instanceId: I_2, origin: 'CreateRoute', state: 'active' });
    await succeed(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.10.0.0/16', NetworkInterfaceId: ENI_2 });
    expect(await routeTo(RTB_A, '10.10.0.0/16')).toMatchObject({ networkInterfaceId: ENI_2, origin: 'CreateRoute' });
    expect((await routeTo(RTB_A, '10.10.0.0/16'))!.transitGatewayId).toBeUndefined();
  });

  test('a destination without a route is InvalidParameterValue, as EC2 answers (not InvalidRoute.NotFound)', async () => {
    expect(await fail(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.9.0/24', NetworkInterfaceId: ENI_1 })).toEqual({
      status: 400,
      code: 'InvalidParameterValue',
      message: "There is no route defined for '10.30.9.0/24' in the route table. Use CreateRoute instead.",
    });
  });

  test('the same validation as CreateRoute', async () => {
    expect((await fail(state, 'ReplaceRoute', { RouteTableId: 'rtb-00000000000000009', DestinationCidrBlock: '10.10.0.0/16', NetworkInterfaceId: ENI_1 })).code).toBe(
      'InvalidRouteTableID.NotFound',
    );
    expect((await fail(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.10.0.0/16', NetworkInterfaceId: 'eni-00000000000000009' })).code).toBe(
      'InvalidNetworkInterfaceID.NotFound',
    );
    expect((await fail(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.10.0.1/16', NetworkInterfaceId: ENI_1 })).code).toBe('InvalidParameterValue');
  });

  test('a local route may point at an ENI and be restored with LocalTarget; other targets and LocalTarget elsewhere are refused', async () => {
    await succeed(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.20.0.0/16', NetworkInterfaceId: ENI_1 });
    expect(await routeTo(RTB_A, '10.20.0.0/16')).toMatchObject({ networkInterfaceId: ENI_1, origin: 'CreateRouteTable', state: 'active' });
    await succeed(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.20.0.0/16', LocalTarget: true });
    expect(await routeTo(RTB_A, '10.20.0.0/16')).toEqual({ destinationCidrBlock: '10.20.0.0/16', gatewayId: 'local', state: 'active', origin: 'CreateRouteTable' });
    expect((await fail(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.20.0.0/16', TransitGatewayId: TGW })).code).toBe('InvalidParameterValue');
    expect((await fail(state, 'ReplaceRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.10.0.0/16', LocalTarget: true })).code).toBe('InvalidParameterValue');
    expect(await routeTo(RTB_A, '10.10.0.0/16')).toMatchObject({ transitGatewayId: TGW });
  });
});

describe('DeleteRoute', () => {
  test('removes the route', async () => {
    const xml = await succeed(state, 'DeleteRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.10.0.0/16' });
    expect(text(xml, 'return')).toBe('true');
    expect(await routesOf(RTB_A)).toHaveLength(1);
  });

  test('a destination without a route is InvalidRoute.NotFound', async () => {
    expect(await fail(state, 'DeleteRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24' })).toEqual({
      status: 400,
      code: 'InvalidRoute.NotFound',
      message: `no route with destination-cidr-block 10.30.0.0/24 in route table ${RTB_A}`,
    });
    expect((await fail(state, 'DeleteRoute', { RouteTableId: RTB_A, DestinationIpv6CidrBlock: '2001:db8::/64' })).code).toBe('InvalidRoute.NotFound');
    expect((await fail(state, 'DeleteRoute', { RouteTableId: 'rtb-00000000000000009', DestinationCidrBlock: '10.10.0.0/16' })).code).toBe('InvalidRouteTableID.NotFound');
  });

  test('the local route cannot be deleted', async () => {
    expect(await fail(state, 'DeleteRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.20.0.0/16' })).toEqual({
      status: 400,
      code: 'InvalidParameterValue',
      message: `cannot remove local route 10.20.0.0/16 in route table ${RTB_A}`,
    });
  });
});

describe('DescribeNetworkInterfaces', () => {
  const eniIds = (xml: XmlNode) => items(xml, 'networkInterfaceSet').map((eni) => text(eni, 'networkInterfaceId'));

  test('renders an attached ENI with attachment, addresses and source/dest check', async () => {
    const xml = await succeed(state, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [ENI_1] });
    const eni = items(xml, 'networkInterfaceSet')[0]!;
    expect(text(eni, 'vpcId')).toBe(VPC);
    expect(text(eni, 'subnetId')).toBe('subnet-0a1b2c3d4e5f60001');
    expect(text(eni, 'availabilityZone')).toBe('us-west-2a');
    expect(text(eni, 'status')).toBe('in-use');
    expect(text(eni, 'privateIpAddress')).toBe('10.20.1.10');
    expect(text(eni, 'privateDnsName')).toBe('ip-10-20-1-10.us-west-2.compute.internal');
    expect(text(eni, 'sourceDestCheck')).toBe('true');
    expect(items(eni, 'privateIpAddressesSet').map((a) => [text(a, 'privateIpAddress'), text(a, 'primary')])).toEqual([['10.20.1.10', 'true']]);
    const attachment = child(eni, 'attachment');
    expect(text(attachment, 'instanceId')).toBe(I_1);
    expect(text(attachment, 'instanceOwnerId')).toBe('123456789012');
    expect(text(attachment, 'deviceIndex')).toBe('0');
    expect(text(attachment, 'status')).toBe('attached');
    expect(text(attachment, 'deleteOnTermination')).toBe('true');
  });

  test('an unattached ENI is available, without attachment', async () => {
    const [eni] = addEnis(1);
    eni!.ipv6Addresses = ['2001:db8::10'];
    const xml = items(await succeed(state, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [eni!.id] }), 'networkInterfaceSet')[0];
    expect(text(xml, 'status')).toBe('available');
    expect(child(xml, 'attachment')).toBeUndefined();
    expect(items(xml, 'ipv6AddressesSet').map((a) => text(a, 'ipv6Address'))).toEqual(['2001:db8::10']);
  });

  test('unknown ids are InvalidNetworkInterfaceID.NotFound', async () => {
    expect(await fail(state, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [ENI_1, 'eni-00000000000000009'] })).toEqual({
      status: 400,
      code: 'InvalidNetworkInterfaceID.NotFound',
      message: "The networkInterface ID 'eni-00000000000000009' does not exist",
    });
  });

  test('filters: vpc-id, addresses.private-ip-address, private-ip-address, ipv6, attachment.instance-id, network-interface-id', async () => {
    const [foreign] = addEnis(1, OTHER_VPC);
    foreign!.privateIp = '10.20.1.10'; // same address in another VPC
    const [v6] = addEnis(1);
    v6!.ipv6Addresses = ['2001:db8::5'];
    const ids = async (filters: Record<string, string[]>) => eniIds(await succeed(state, 'DescribeNetworkInterfaces', {}, filters));
    expect(await ids({ 'vpc-id': [VPC], 'addresses.private-ip-address': ['10.20.1.10', '10.20.2.10', '10.99.9.9'] })).toEqual([ENI_1, ENI_2]);
    expect(await ids({ 'private-ip-address': ['10.20.1.10'] })).toEqual([ENI_1, foreign!.id].sort());
    expect(await ids({ 'vpc-id': [VPC], 'ipv6-addresses.ipv6-address': ['2001:db8::5'] })).toEqual([v6!.id]);
    expect(await ids({ 'attachment.instance-id': [I_2] })).toEqual([ENI_2]);
    expect(await ids({ 'network-interface-id': [ENI_1, 'eni-0a1b2c3d4e5f6000*'] })).toEqual([ENI_1, ENI_2, 'eni-0a1b2c3d4e5f60003']);
    expect((await fail(state, 'DescribeNetworkInterfaces', {}, { 'private-ip': ['10.20.1.10'] })).code).toBe('InvalidParameterValue');
  });

  test('FilterLimitExceeded above 200 values: vpc-id plus 199 addresses passes, plus 200 fails', async () => {
    const enis = addEnis(210);
    const addresses = (n: number) => enis.slice(0, n).map((eni) => eni.privateIp);
    const found = eniIds(await succeed(state, 'DescribeNetworkInterfaces', { MaxResults: 1000 }, { 'vpc-id': [VPC], 'addresses.private-ip-address': addresses(199) }));
    expect(found).toHaveLength(199);
    expect(await fail(state, 'DescribeNetworkInterfaces', { MaxResults: 1000 }, { 'vpc-id': [VPC], 'addresses.private-ip-address': addresses(200) })).toMatchObject({
      code: 'FilterLimitExceeded',
    });
  });

  test('MaxResults pages with NextToken; 5–1000; not together with NetworkInterfaceId.N', async () => {
    addEnis(23);
    const pages = await allPages('DescribeNetworkInterfaces', 'networkInterfaceSet', 'networkInterfaceId', { MaxResults: 5 }, { 'vpc-id': [VPC] });
    expect(pages.map((page) => page.length)).toEqual([5, 5, 5, 5, 5, 1]);
    expect(new Set(pages.flat()).size).toBe(26);
    expect((await fail(state, 'DescribeNetworkInterfaces', { MaxResults: 1001 })).code).toBe('InvalidParameterValue');
    expect((await fail(state, 'DescribeNetworkInterfaces', { MaxResults: 4 })).code).toBe('InvalidParameterValue');
    expect(await fail(state, 'DescribeNetworkInterfaces', { MaxResults: 5, NetworkInterfaceId: [ENI_1] })).toMatchObject({ status: 400, code: 'InvalidParameterCombination' });
  });
});

describe('ModifyNetworkInterfaceAttribute', () => {
  test('SourceDestCheck.Value turns the check off and on', async () => {
    const xml = await succeed(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: ENI_1, 'SourceDestCheck.Value': false });
    expect(text(xml, 'return')).toBe('true');
    expect(state.networkInterfaces.get(ENI_1)!.sourceDestCheck).toBe(false);
    const eni = items(await succeed(state, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [ENI_1] }), 'networkInterfaceSet')[0];
    expect(text(eni, 'sourceDestCheck')).toBe('false');
    await succeed(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: ENI_1, 'SourceDestCheck.Value': true });
    expect(state.networkInterfaces.get(ENI_1)!.sourceDestCheck).toBe(true);
  });

  test('unknown or missing ENI', async () => {
    expect((await fail(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: 'eni-00000000000000009', 'SourceDestCheck.Value': false })).code).toBe(
      'InvalidNetworkInterfaceID.NotFound',
    );
    expect((await fail(state, 'ModifyNetworkInterfaceAttribute', { 'SourceDestCheck.Value': false })).code).toBe('MissingParameter');
    expect((await fail(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: ENI_1, 'SourceDestCheck.Value': 'no' })).code).toBe('InvalidParameterValue');
  });
});

describe('DescribeInstances', () => {
  const instanceIds = (xml: XmlNode) => items(xml, 'reservationSet').flatMap((r) => items(r, 'instancesSet')).map((i) => text(i, 'instanceId'));

  test('renders reservations with instance state, addresses and network interfaces', async () => {
    const xml = await succeed(state, 'DescribeInstances', { InstanceId: [I_1] });
    const reservation = items(xml, 'reservationSet')[0]!;
    expect(text(reservation, 'ownerId')).toBe('123456789012');
    expect(text(reservation, 'reservationId')).toMatch(/^r-[0-9a-f]+$/);
    const instance = items(reservation, 'instancesSet')[0]!;
    expect(text(instance, 'instanceId')).toBe(I_1);
    expect(text(child(instance, 'instanceState'), 'code')).toBe('16');
    expect(text(child(instance, 'instanceState'), 'name')).toBe('running');
    expect(text(instance, 'privateIpAddress')).toBe('10.20.1.10');
    expect(text(instance, 'vpcId')).toBe(VPC);
    expect(text(instance, 'subnetId')).toBe('subnet-0a1b2c3d4e5f60001');
    expect(text(instance, 'instanceType')).toBe('m5.large');
    expect(text(instance, 'sourceDestCheck')).toBe('true');
    expect(text(child(instance, 'placement'), 'availabilityZone')).toBe('us-west-2a');
    expect(items(instance, 'tagSet').map((t) => [text(t, 'key'), text(t, 'value')])).toEqual([['Name', 'hybrid-node-1']]);
    const enis = items(instance, 'networkInterfaceSet');
    expect(enis.map((eni) => [text(eni, 'networkInterfaceId'), text(eni, 'sourceDestCheck'), text(eni, 'privateIpAddress')])).toEqual([[ENI_1, 'true', '10.20.1.10']]);
    expect(text(child(enis[0], 'attachment'), 'deviceIndex')).toBe('0');
  });

  test('filters: private-ip-address, instance-state-name, vpc-id, network-interface.network-interface-id, tag', async () => {
    const ids = async (filters: Record<string, string[]>) => instanceIds(await succeed(state, 'DescribeInstances', {}, filters));
    expect(await ids({ 'private-ip-address': ['10.20.2.10'] })).toEqual([I_2]);
    expect(await ids({ 'instance-state-name': ['running'], 'vpc-id': [VPC] })).toEqual([I_1, I_2, I_3]);
    expect(await ids({ 'network-interface.network-interface-id': [ENI_1] })).toEqual([I_1]);
    expect(await ids({ 'tag:Name': ['hybrid-node-3'] })).toEqual([I_3]);
    stopInstance(state, I_2);
    expect(await ids({ 'instance-state-name': ['stopped', 'stopping'] })).toEqual([I_2]);
    expect((await fail(state, 'DescribeInstances', {}, { 'state-name': ['running'] })).code).toBe('InvalidParameterValue');
  });

  test('unknown ids are InvalidInstanceID.NotFound; MaxResults with InstanceId.N is InvalidParameterCombination', async () => {
    expect(await fail(state, 'DescribeInstances', { InstanceId: [I_1, 'i-00000000000000009', 'i-00000000000000008'] })).toEqual({
      status: 400,
      code: 'InvalidInstanceID.NotFound',
      message: "The instance IDs 'i-00000000000000009, i-00000000000000008' do not exist",
    });
    expect((await fail(state, 'DescribeInstances', { InstanceId: ['eni-00000000000000009'] })).code).toBe('InvalidInstanceID.Malformed');
    expect((await fail(state, 'DescribeInstances', { InstanceId: [I_1], MaxResults: 5 })).code).toBe('InvalidParameterCombination');
  });

  test('MaxResults pages through instances', async () => {
    for (let n = 0; n < 8; n++) {
      state.instances.set(`i-${hex17(n)}`, {
        id: `i-${hex17(n)}`,
        subnetId: 'subnet-0a1b2c3d4e5f60002',
        privateIp: `10.20.2.${100 + n}`,
        networkInterfaceId: `eni-${hex17(n)}`,
        state: 'stopped',
        tags: {},
        instanceType: 't3.small',
      });
    }
    const pages = await allPages('DescribeInstances', 'reservationSet', 'instanceId', { MaxResults: 5 });
    expect(pages.map((page) => page.length)).toEqual([5, 5, 1]);
    expect(new Set(pages.flat()).size).toBe(11);
    expect((await fail(state, 'DescribeInstances', { MaxResults: 1001 })).code).toBe('InvalidParameterValue');
  });
});

describe('instance state changes', () => {
  const change = (xml: XmlNode) =>
    items(xml, 'instancesSet').map((item) => ({
      id: text(item, 'instanceId'),
      current: `${text(child(item, 'currentState'), 'code')} ${text(child(item, 'currentState'), 'name')}`,
      previous: `${text(child(item, 'previousState'), 'code')} ${text(child(item, 'previousState'), 'name')}`,
    }));

  beforeEach(async () => {
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 });
  });

  test('TerminateInstances: shutting-down reported, instance terminated, primary ENI deleted, its routes blackholed', async () => {
    const xml = await succeed(state, 'TerminateInstances', { InstanceId: [I_1] });
    expect(change(xml)).toEqual([{ id: I_1, current: '32 shutting-down', previous: '16 running' }]);
    expect(state.instances.get(I_1)!.state).toBe('terminated');
    expect(state.networkInterfaces.has(ENI_1)).toBe(false);
    expect(await routeTo(RTB_A, '10.30.0.0/24')).toEqual({ destinationCidrBlock: '10.30.0.0/24', networkInterfaceId: ENI_1, state: 'blackhole', origin: 'CreateRoute' });
    expect((await fail(state, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [ENI_1] })).code).toBe('InvalidNetworkInterfaceID.NotFound');
    // Still described for a while, without addresses or interfaces.
    const instance = items(items(await succeed(state, 'DescribeInstances', { InstanceId: [I_1] }), 'reservationSet')[0], 'instancesSet')[0];
    expect(text(child(instance, 'instanceState'), 'name')).toBe('terminated');
    expect(text(instance, 'privateIpAddress')).toBeUndefined();
    expect(items(instance, 'networkInterfaceSet')).toEqual([]);
    // Terminating again succeeds and reports terminated.
    expect(change(await succeed(state, 'TerminateInstances', { InstanceId: [I_1] }))).toEqual([{ id: I_1, current: '48 terminated', previous: '48 terminated' }]);
  });

  test('terminating detaches (does not delete) secondary ENIs', async () => {
    const [secondary] = addEnis(1);
    secondary!.instanceId = I_1;
    const eni = items(await succeed(state, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [secondary!.id] }), 'networkInterfaceSet')[0];
    expect(text(child(eni, 'attachment'), 'deviceIndex')).toBe('1');
    expect(text(child(eni, 'attachment'), 'deleteOnTermination')).toBe('false');
    await succeed(state, 'TerminateInstances', { InstanceId: [I_1] });
    expect(state.networkInterfaces.get(secondary!.id)?.instanceId).toBeUndefined();
  });

  test('unknown ids fail the whole call and change nothing', async () => {
    expect(await fail(state, 'TerminateInstances', { InstanceId: [I_2, 'i-00000000000000009'] })).toMatchObject({ code: 'InvalidInstanceID.NotFound' });
    expect(state.instances.get(I_2)!.state).toBe('running');
    expect((await fail(state, 'TerminateInstances')).code).toBe('MissingParameter');
  });

  test('StopInstances / StartInstances: route blackholed while stopped, active again once started', async () => {
    expect(change(await succeed(state, 'StopInstances', { InstanceId: [I_1] }))).toEqual([{ id: I_1, current: '64 stopping', previous: '16 running' }]);
    expect(state.instances.get(I_1)!.state).toBe('stopped');
    expect(await routeTo(RTB_A, '10.30.0.0/24')).toMatchObject({ instanceId: I_1, networkInterfaceId: ENI_1, state: 'blackhole' });
    expect(change(await succeed(state, 'StopInstances', { InstanceId: [I_1] }))).toEqual([{ id: I_1, current: '80 stopped', previous: '80 stopped' }]);
    expect(change(await succeed(state, 'StartInstances', { InstanceId: [I_1] }))).toEqual([{ id: I_1, current: '0 pending', previous: '80 stopped' }]);
    expect(state.instances.get(I_1)!.state).toBe('running');
    expect(await routeTo(RTB_A, '10.30.0.0/24')).toMatchObject({ state: 'active' });
    expect(change(await succeed(state, 'StartInstances', { InstanceId: [I_1] }))).toEqual([{ id: I_1, current: '16 running', previous: '16 running' }]);
  });

  test('a terminated instance can be neither stopped nor started: IncorrectInstanceState', async () => {
    await succeed(state, 'TerminateInstances', { InstanceId: [I_1] });
    expect((await fail(state, 'StopInstances', { InstanceId: [I_1] })).code).toBe('IncorrectInstanceState');
    expect((await fail(state, 'StartInstances', { InstanceId: [I_1] })).code).toBe('IncorrectInstanceState');
    expect((await fail(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.5.0/24', InstanceId: I_1 })).code).toBe('IncorrectInstanceState');
  });
});

describe('scenario helpers', () => {
  test('terminateInstance / stopInstance / startInstance go through the API paths', async () => {
    await succeed(state, 'CreateRoute', { RouteTableId: RTB_A, DestinationCidrBlock: '10.30.1.0/24', NetworkInterfaceId: ENI_2 });
    expect(stopInstance(state, I_2)).toEqual({ instanceId: I_2, previousState: { code: 16, name: 'running' }, currentState: { code: 64, name: 'stopping' } });
    expect((await routeTo(RTB_A, '10.30.1.0/24'))!.state).toBe('blackhole');
    expect(startInstance(state, I_2).currentState.name).toBe('pending');
    expect((await routeTo(RTB_A, '10.30.1.0/24'))!.state).toBe('active');
    expect(terminateInstance(state, I_2)).toEqual({ instanceId: I_2, previousState: { code: 16, name: 'running' }, currentState: { code: 32, name: 'shutting-down' } });
    expect((await routeTo(RTB_A, '10.30.1.0/24'))!.state).toBe('blackhole');
    expect(() => terminateInstance(state, 'i-00000000000000009')).toThrow(expect.objectContaining({ code: 'InvalidInstanceID.NotFound' }));
    expect(() => startInstance(state, I_2)).toThrow(expect.objectContaining({ code: 'IncorrectInstanceState' }));
  });

  test('addRoute creates, then overwrites, with origin CreateRoute', async () => {
    expect(addRoute(state, RTB_A, { destination: '10.30.0.0/24', networkInterfaceId: ENI_1 })).toEqual({ routeTableId: RTB_A, destination: '10.30.0.0/24', outcome: 'created' });
    expect(addRoute(state, RTB_A, { destination: '10.30.0.0/24', transitGatewayId: TGW })).toEqual({ routeTableId: RTB_A, destination: '10.30.0.0/24', outcome: 'replaced' });
    expect(await routeTo(RTB_A, '10.30.0.0/24')).toEqual({ destinationCidrBlock: '10.30.0.0/24', transitGatewayId: TGW, state: 'active', origin: 'CreateRoute' });
    addRoute(state, RTB_A, { destination: '2001:DB8::/64', gatewayId: 'igw-0123456789abcdef0' });
    expect(await routeTo(RTB_A, '2001:db8::/64')).toMatchObject({ gatewayId: 'igw-0123456789abcdef0' });
    addRoute(state, RTB_A, { destination: '10.31.0.0/24', natGatewayId: 'nat-0123456789abcdef0' });
    addRoute(state, RTB_A, { destination: '10.32.0.0/24', vpcPeeringConnectionId: 'pcx-0123456789abcdef0' });
    expect(await routeTo(RTB_A, '10.32.0.0/24')).toMatchObject({ vpcPeeringConnectionId: 'pcx-0123456789abcdef0' });
  });

  test('addRoute validates like the API: table, ENI, CIDR, target count, quota', () => {
    expect(() => addRoute(state, 'rtb-00000000000000009', { destination: '10.30.0.0/24', networkInterfaceId: ENI_1 })).toThrow(
      expect.objectContaining({ code: 'InvalidRouteTableID.NotFound' }),
    );
    expect(() => addRoute(state, RTB_A, { destination: '10.30.0.0/24', networkInterfaceId: 'eni-00000000000000009' })).toThrow(
      expect.objectContaining({ code: 'InvalidNetworkInterfaceID.NotFound' }),
    );
    expect(() => addRoute(state, RTB_A, { destination: '10.30.0.7/24', networkInterfaceId: ENI_1 })).toThrow(expect.objectContaining({ code: 'InvalidParameterValue' }));
    expect(() => addRoute(state, RTB_A, { destination: '10.30.0.0/24' })).toThrow(expect.objectContaining({ code: 'MissingParameter' }));
    expect(() => addRoute(state, RTB_A, { destination: '10.30.0.0/24', networkInterfaceId: ENI_1, transitGatewayId: TGW })).toThrow(
      expect.objectContaining({ code: 'InvalidParameterCombination' }),
    );
    state.quotas.routesPerRouteTable = 2;
    expect(() => addRoute(state, RTB_A, { destination: '10.30.0.0/24', networkInterfaceId: ENI_1 })).toThrow(expect.objectContaining({ code: 'RouteLimitExceeded' }));
    expect(addRoute(state, RTB_A, { destination: '10.10.0.0/16', networkInterfaceId: ENI_1 }).outcome).toBe('replaced');
  });
});

// AWS: Amazon EC2 API Reference, CreateTags / DeleteTags / DescribeNetworkInterfaces (filters tag:<key>, tag-key,
// tag-value, attachment.instance-id) and "Error codes for the Amazon EC2 API"; EC2 user guide, "Tag restrictions".
describe('tags on ENIs, instances and route tables', () => {
  const eniIds = (xml: XmlNode) => items(xml, 'networkInterfaceSet').map((eni) => text(eni, 'networkInterfaceId'));
  const tagsOf = (node: XmlNode | undefined) => Object.fromEntries(items(node, 'tagSet').map((t) => [text(t, 'key'), text(t, 'value') ?? '']));
  const eniTags = async (id: string) => tagsOf(items(await succeed(state, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [id] }), 'networkInterfaceSet')[0]);
  const I_3_ENI = 'eni-0a1b2c3d4e5f60003';

  /** CreateTags / DeleteTags parameters: `Tag.N.Key`, and `Tag.N.Value` only when the value is not undefined. */
  const tagParams = (tags: [string, string | undefined][]) =>
    Object.fromEntries(tags.flatMap(([key, value], i) => [[`Tag.${i + 1}.Key`, key], ...(value === undefined ? [] : [[`Tag.${i + 1}.Value`, value]])]));

  test('CreateTags tags ENIs, instances and route tables; DescribeNetworkInterfaces renders the tagSet', async () => {
    expect(await eniTags(ENI_1)).toEqual({});
    const xml = await succeed(state, 'CreateTags', { ResourceId: [ENI_1, I_2, RTB_C], ...tagParams([['eks-hybrid-routes/teardown', 'mi-026d6a261e355fba7'], ['empty', '']]) });
    expect(text(xml, 'return')).toBe('true');
    expect(await eniTags(ENI_1)).toEqual({ 'eks-hybrid-routes/teardown': 'mi-026d6a261e355fba7', empty: '' });
    expect(state.networkInterfaces.get(ENI_1)!.tags).toEqual({ 'eks-hybrid-routes/teardown': 'mi-026d6a261e355fba7', empty: '' });
    expect(state.instances.get(I_2)!.tags).toEqual({ Name: 'hybrid-node-2', 'eks-hybrid-routes/teardown': 'mi-026d6a261e355fba7', empty: '' });
    expect(state.routeTables.get(RTB_C)!.tags).toMatchObject({ 'eks-hybrid-routes/managed': 'true', empty: '' });
    // A second CreateTags overwrites the value of an existing key.
    await succeed(state, 'CreateTags', { ResourceId: [ENI_1], ...tagParams([['empty', 'now-set']]) });
    expect((await eniTags(ENI_1)).empty).toBe('now-set');
    // A tag without Value is tagged with an empty value.
    await succeed(state, 'CreateTags', { ResourceId: [ENI_2], ...tagParams([['flag', undefined]]) });
    expect(await eniTags(ENI_2)).toEqual({ flag: '' });
  });

  test('filters: tag-key, tag:<key> (wildcards), tag-value and attachment.instance-id, ANDed, values ORed', async () => {
    state.networkInterfaces.get(ENI_1)!.tags = { 'eks-hybrid-routes/teardown': 'mi-026d6a261e355fba7' };
    state.networkInterfaces.get(ENI_2)!.tags = { 'eks-hybrid-routes/teardown': 'mi-0b3c4d5e6f7a80912', team: 'net' };
    const ids = async (filters: Record<string, string[]>) => eniIds(await succeed(state, 'DescribeNetworkInterfaces', {}, filters));
    expect(await ids({ 'vpc-id': [VPC], 'tag-key': ['eks-hybrid-routes/teardown'] })).toEqual([ENI_1, ENI_2]);
    expect(await ids({ 'tag-key': ['team', 'nothing-has-this'] })).toEqual([ENI_2]);
    expect(await ids({ 'tag:eks-hybrid-routes/teardown': ['mi-0b3c*'] })).toEqual([ENI_2]);
    expect(await ids({ 'tag:eks-hybrid-routes/teardown': ['mi-026d6a261e355fba7', 'mi-0b3c4d5e6f7a80912'] })).toEqual([ENI_1, ENI_2]);
    expect(await ids({ 'tag:team': ['net'], 'tag:eks-hybrid-routes/teardown': ['mi-026d6a261e355fba7'] })).toEqual([]);
    expect(await ids({ 'tag-value': ['net'] })).toEqual([ENI_2]);
    expect(await ids({ 'tag-key': ['eks-hybrid-routes/teardown'], 'attachment.instance-id': [I_2, I_3] })).toEqual([ENI_2]);
    expect(await ids({ 'attachment.instance-id': [I_1, I_3, 'i-00000000000000009'] })).toEqual([ENI_1, I_3_ENI]);
    expect(await ids({ 'tag-key': ['eks-hybrid-routes/teardown'], 'vpc-id': [OTHER_VPC] })).toEqual([]);
  });

  test('an unknown resource fails the whole call with its own NotFound code and tags nothing', async () => {
    const create = (ids: string[]) => fail(state, 'CreateTags', { ResourceId: ids, ...tagParams([['k', 'v']]) });
    expect(await create([ENI_1, 'eni-0ffffffffffffffff'])).toEqual({
      status: 400,
      code: 'InvalidNetworkInterfaceID.NotFound',
      message: "The networkInterface ID 'eni-0ffffffffffffffff' does not exist",
    });
    expect(state.networkInterfaces.get(ENI_1)!.tags).toEqual({});
    expect(await create(['i-0ffffffffffffffff'])).toMatchObject({ code: 'InvalidInstanceID.NotFound', message: "The instance ID 'i-0ffffffffffffffff' does not exist" });
    expect(await create(['rtb-0ffffffffffffffff'])).toMatchObject({ code: 'InvalidRouteTableID.NotFound', message: "The routeTable ID 'rtb-0ffffffffffffffff' does not exist" });
    const deleted = await fail(state, 'DeleteTags', { ResourceId: ['eni-0ffffffffffffffff'], ...tagParams([['k', undefined]]) });
    expect(deleted).toMatchObject({ code: 'InvalidNetworkInterfaceID.NotFound', message: "The networkInterface ID 'eni-0ffffffffffffffff' does not exist" });
    // An id that names no resource at all; a real kind the local cloud does not model.
    expect((await create(['not-an-id'])).code).toBe('InvalidID');
    expect((await create(['eni-xyz'])).code).toBe('InvalidID');
    expect((await create([VPC])).code).toBe('InvalidParameterValue');
  });

  test('parameter checks: ResourceId and Tag required, reserved aws: keys, lengths, 50 tags per resource', async () => {
    expect((await fail(state, 'CreateTags', { ...tagParams([['k', 'v']]) })).code).toBe('MissingParameter');
    expect((await fail(state, 'CreateTags', { ResourceId: [ENI_1] })).code).toBe('MissingParameter');
    expect((await fail(state, 'CreateTags', { ResourceId: [ENI_1], 'Tag.1.Value': 'v' })).code).toBe('MissingParameter');
    expect((await fail(state, 'CreateTags', { ResourceId: [ENI_1], ...tagParams([['aws:cloudformation:stack-name', 'x']]) })).code).toBe('InvalidParameterValue');
    expect((await fail(state, 'CreateTags', { ResourceId: [ENI_1], ...tagParams([['k'.repeat(129), 'v']]) })).code).toBe('InvalidParameterValue');
    expect((await fail(state, 'CreateTags', { ResourceId: [ENI_1], ...tagParams([['k', 'v'.repeat(257)]]) })).code).toBe('InvalidParameterValue');
    await succeed(state, 'CreateTags', { ResourceId: [ENI_1], ...tagParams(Array.from({ length: 50 }, (_, i): [string, string] => [`k${i}`, 'v'])) });
    expect(Object.keys(state.networkInterfaces.get(ENI_1)!.tags)).toHaveLength(50);
    await succeed(state, 'CreateTags', { ResourceId: [ENI_1], ...tagParams([['k0', 'overwritten']]) }); // still 50
    expect(await fail(state, 'CreateTags', { ResourceId: [ENI_2, ENI_1], ...tagParams([['k50', 'v']]) })).toMatchObject({ code: 'TagLimitExceeded' });
    expect(state.networkInterfaces.get(ENI_2)!.tags).toEqual({}); // all or nothing
  });

  test('DeleteTags: a key alone deletes whatever the value; with a value (even empty) only on a match; no Tag.N deletes all', async () => {
    state.networkInterfaces.get(ENI_1)!.tags = { a: '1', b: '2', c: '', d: '4' };
    state.networkInterfaces.get(ENI_2)!.tags = { a: 'other' };
    let xml = await succeed(state, 'DeleteTags', { ResourceId: [ENI_1, ENI_2], ...tagParams([['a', undefined]]) });
    expect(text(xml, 'return')).toBe('true');
    expect(state.networkInterfaces.get(ENI_1)!.tags).toEqual({ b: '2', c: '', d: '4' });
    expect(state.networkInterfaces.get(ENI_2)!.tags).toEqual({});
    await succeed(state, 'DeleteTags', { ResourceId: [ENI_1], ...tagParams([['b', 'not-2'], ['d', '4'], ['missing', undefined]]) });
    expect(state.networkInterfaces.get(ENI_1)!.tags).toEqual({ b: '2', c: '' });
    await succeed(state, 'DeleteTags', { ResourceId: [ENI_1], ...tagParams([['b', ''], ['c', '']]) });
    expect(state.networkInterfaces.get(ENI_1)!.tags).toEqual({ b: '2' });
    xml = await succeed(state, 'DeleteTags', { ResourceId: [ENI_1, I_1] });
    expect(text(xml, 'return')).toBe('true');
    expect(state.networkInterfaces.get(ENI_1)!.tags).toEqual({});
    expect(state.instances.get(I_1)!.tags).toEqual({});
    expect((await fail(state, 'DeleteTags', {})).code).toBe('MissingParameter');
  });

  test('scenario files tag ENIs through instances[].networkInterfaceTags; new ENIs start untagged', async () => {
    const scenario = defaultScenario();
    scenario.instances[0]!.networkInterfaceTags = { 'eks-hybrid-routes/teardown': 'mi-026d6a261e355fba7' };
    state = buildState(scenario);
    expect(await eniTags(ENI_1)).toEqual({ 'eks-hybrid-routes/teardown': 'mi-026d6a261e355fba7' });
    expect(await eniTags(ENI_2)).toEqual({});
    expect(state.instances.get(I_1)).not.toHaveProperty('networkInterfaceTags');
  });
});

// AWS: Amazon EC2 API Reference, DescribeInstances (filter instance-id), TerminateInstances, ModifyNetworkInterfaceAttribute.
describe('what a teardown calls on instances', () => {
  const described = async (filters: Record<string, string[]>) =>
    items(await succeed(state, 'DescribeInstances', {}, filters), 'reservationSet')
      .flatMap((r) => items(r, 'instancesSet'))
      .map((i) => [text(i, 'instanceId'), text(child(i, 'instanceState'), 'name')]);

  test('DescribeInstances instance-id filter: unknown ids are simply absent (InstanceId.N would fail the call)', async () => {
    expect(await described({ 'instance-id': [I_3, 'i-00000000000000009', I_1] })).toEqual([
      [I_1, 'running'],
      [I_3, 'running'],
    ]);
    expect(await described({ 'instance-id': ['i-00000000000000009'] })).toEqual([]);
    await succeed(state, 'TerminateInstances', { InstanceId: [I_1] });
    expect(await described({ 'instance-id': [I_1] })).toEqual([[I_1, 'terminated']]);
  });

  test('TerminateInstances on several, one already terminated: terminated/terminated for it, shutting-down for the other', async () => {
    await succeed(state, 'TerminateInstances', { InstanceId: [I_1] });
    const xml = await succeed(state, 'TerminateInstances', { InstanceId: [I_1, I_2] });
    expect(
      items(xml, 'instancesSet').map((item) => [text(item, 'instanceId'), text(child(item, 'previousState'), 'name'), text(child(item, 'currentState'), 'name')]),
    ).toEqual([
      [I_1, 'terminated', 'terminated'],
      [I_2, 'running', 'shutting-down'],
    ]);
    expect(state.networkInterfaces.has(ENI_2)).toBe(false);
  });

  test('ModifyNetworkInterfaceAttribute SourceDestCheck.Value=true restores the check on a disabled ENI', async () => {
    state.networkInterfaces.get(ENI_2)!.sourceDestCheck = false;
    await succeed(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: ENI_2, 'SourceDestCheck.Value': true });
    expect(text(items(await succeed(state, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [ENI_2] }), 'networkInterfaceSet')[0], 'sourceDestCheck')).toBe('true');
    await succeed(state, 'TerminateInstances', { InstanceId: [I_2] });
    expect((await fail(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: ENI_2, 'SourceDestCheck.Value': true })).code).toBe('InvalidNetworkInterfaceID.NotFound');
  });
});
