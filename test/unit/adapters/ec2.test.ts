import {
  CreateRouteCommand,
  CreateTagsCommand,
  DeleteRouteCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  EC2ServiceException,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceRouteCommand,
  TerminateInstancesCommand,
  type DescribeNetworkInterfacesCommandInput,
  type NetworkInterface,
  type Route,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Ec2Adapter, isAwsError } from '../../../functions/adapters/ec2.js';
import { IncompleteReadError } from '../../../functions/core/errors.js';

const ec2Mock = mockClient(EC2Client);
const client = new EC2Client({ region: 'us-west-2' });

/** An error shaped the way the SDK deserializes an EC2 error response. */
function ec2Error(code: string, message = `${code} (test)`): EC2ServiceException {
  return new EC2ServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

/** What DescribeRouteTables shows for rtb-a when a create meets RouteAlreadyExists. */
function tableHolding(route: Record<string, string>) {
  ec2Mock.on(DescribeRouteTablesCommand).resolves({ RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1', Routes: [{ DestinationCidrBlock: '10.30.0.0/24', Origin: 'CreateRoute', State: 'active', ...route }] }] });
}

/** The address filter values of every DescribeNetworkInterfaces call, in call order. */
function addressFilterCalls() {
  return ec2Mock.commandCalls(DescribeNetworkInterfacesCommand).map((call) => {
    const filters = (call.args[0].input as DescribeNetworkInterfacesCommandInput).Filters ?? [];
    return { vpc: filters.find((f) => f.Name === 'vpc-id')?.Values, address: filters.find((f) => f.Name !== 'vpc-id') };
  });
}

function ipv4s(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.20.${Math.floor(i / 250)}.${(i % 250) + 1}`);
}

beforeEach(() => {
  ec2Mock.reset();
});

describe('Ec2Adapter.describeRouteTables', () => {
  const adapter = () => new Ec2Adapter(client);

  test('ids: one RouteTableIds request without MaxResults, following NextToken across pages', async () => {
    ec2Mock
      .on(DescribeRouteTablesCommand)
      .resolves({ RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1', Routes: [] }], NextToken: 'page-2' })
      .on(DescribeRouteTablesCommand, { NextToken: 'page-2' })
      .resolves({ RouteTables: [{ RouteTableId: 'rtb-b', VpcId: 'vpc-1', Routes: [] }] });

    const tables = await adapter().describeRouteTables({ kind: 'ids', routeTableIds: ['rtb-a', 'rtb-b', 'rtb-a'] });

    expect(tables.map((t) => t.routeTableId)).toEqual(['rtb-a', 'rtb-b']);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeRouteTablesCommand, 2);
    const input = ec2Mock.commandCalls(DescribeRouteTablesCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ RouteTableIds: ['rtb-a', 'rtb-b'] });
    expect(input.MaxResults).toBeUndefined();
    expect(input.Filters).toBeUndefined();
  });

  test('ids: an empty list returns nothing without asking EC2 (it would mean "all tables")', async () => {
    await expect(adapter().describeRouteTables({ kind: 'ids', routeTableIds: [] })).resolves.toEqual([]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeRouteTablesCommand, 0);
  });

  test('tag: filters on tag:<key> = value, paginated with MaxResults', async () => {
    ec2Mock
      .on(DescribeRouteTablesCommand)
      .resolves({ RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1' }], NextToken: 'page-2' })
      .on(DescribeRouteTablesCommand, { NextToken: 'page-2' })
      .resolves({ RouteTables: [{ RouteTableId: 'rtb-b', VpcId: 'vpc-1' }] });

    const tables = await adapter().describeRouteTables({ kind: 'tag', key: 'eks-hybrid-routes/managed', value: 'true' });

    expect(tables).toEqual([
      { routeTableId: 'rtb-a', vpcId: 'vpc-1', routes: [] },
      { routeTableId: 'rtb-b', vpcId: 'vpc-1', routes: [] },
    ]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeRouteTablesCommand, 2);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeRouteTablesCommand, {
      Filters: [{ Name: 'tag:eks-hybrid-routes/managed', Values: ['true'] }],
      MaxResults: 100,
    });
    expect(ec2Mock.commandCalls(DescribeRouteTablesCommand)[0]!.args[0].input.RouteTableIds).toBeUndefined();
  });

  test('tag with the remote VPC: the vpc-id filter too, so the same tag on a table elsewhere is not read', async () => {
    ec2Mock.on(DescribeRouteTablesCommand).resolves({ RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1' }] });

    await adapter().describeRouteTables({ kind: 'tag', key: 'eks-hybrid-routes/managed', value: 'true' }, 'vpc-1');

    expect(ec2Mock).toHaveReceivedCommandWith(DescribeRouteTablesCommand, {
      Filters: [
        { Name: 'tag:eks-hybrid-routes/managed', Values: ['true'] },
        { Name: 'vpc-id', Values: ['vpc-1'] },
      ],
    });
  });

  test('named tables with the remote VPC: no VPC filter, so a named table in another VPC is reported, not missed', async () => {
    ec2Mock.on(DescribeRouteTablesCommand).resolves({ RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-2' }] });

    const tables = await adapter().describeRouteTables({ kind: 'ids', routeTableIds: ['rtb-a'] }, 'vpc-1');

    expect(tables).toEqual([{ routeTableId: 'rtb-a', vpcId: 'vpc-2', routes: [] }]);
    expect(ec2Mock.commandCalls(DescribeRouteTablesCommand)[0]!.args[0].input.Filters).toBeUndefined();
  });

  test('a named table that does not exist (InvalidRouteTableID.NotFound): an IncompleteReadError of the route tables, EC2’s message kept', async () => {
    const missing = ec2Error('InvalidRouteTableID.NotFound', "The routeTable ID 'rtb-gone' does not exist");
    ec2Mock.on(DescribeRouteTablesCommand).rejects(missing);

    const error = await adapter()
      .describeRouteTables({ kind: 'ids', routeTableIds: ['rtb-a', 'rtb-gone'] })
      .catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(IncompleteReadError);
    expect(error).toMatchObject({ source: 'route-tables', message: "route-tables: a configured route table does not exist (EC2: The routeTable ID 'rtb-gone' does not exist)", cause: missing });
  });

  test('a failure on page 2 rejects the whole read', async () => {
    const failure = ec2Error('RequestLimitExceeded');
    ec2Mock
      .on(DescribeRouteTablesCommand)
      .resolves({ RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1' }], NextToken: 'page-2' })
      .on(DescribeRouteTablesCommand, { NextToken: 'page-2' })
      .rejects(failure);

    await expect(adapter().describeRouteTables({ kind: 'tag', key: 'k', value: 'v' })).rejects.toBe(failure);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeRouteTablesCommand, 2);
  });

  test('translates every kind of route', async () => {
    const routes: Route[] = [
      { DestinationCidrBlock: '10.20.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      { DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: 'eni-1', InstanceId: 'i-1', InstanceOwnerId: '111122223333', Origin: 'CreateRoute', State: 'active' },
      { DestinationCidrBlock: '10.30.1.0/24', NetworkInterfaceId: 'eni-gone', Origin: 'CreateRoute', State: 'blackhole' },
      { DestinationIpv6CidrBlock: '2600:1f14:abc::/56', NetworkInterfaceId: 'eni-1', Origin: 'CreateRoute', State: 'active' },
      { DestinationPrefixListId: 'pl-63a5400a', GatewayId: 'vpce-0123', Origin: 'CreateRoute', State: 'active' },
      { DestinationCidrBlock: '10.0.0.0/8', TransitGatewayId: 'tgw-1', Origin: 'CreateRoute', State: 'active' },
      { DestinationCidrBlock: '192.168.0.0/16' }, // no Origin, no State, no target
      { GatewayId: 'igw-1', Origin: 'CreateRoute', State: 'active' }, // no destination: skipped
    ];
    ec2Mock.on(DescribeRouteTablesCommand).resolves({ RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1', Routes: routes }] });

    const [table] = await adapter().describeRouteTables({ kind: 'ids', routeTableIds: ['rtb-a'] });

    expect(table).toEqual({
      routeTableId: 'rtb-a',
      vpcId: 'vpc-1',
      routes: [
        { destination: '10.20.0.0/16', destinationType: 'ipv4', origin: 'CreateRouteTable', state: 'active', gatewayTarget: 'local' },
        { destination: '10.30.0.0/24', destinationType: 'ipv4', origin: 'CreateRoute', state: 'active', networkInterfaceId: 'eni-1', instanceId: 'i-1' },
        { destination: '10.30.1.0/24', destinationType: 'ipv4', origin: 'CreateRoute', state: 'blackhole', networkInterfaceId: 'eni-gone' },
        { destination: '2600:1f14:abc::/56', destinationType: 'ipv6', origin: 'CreateRoute', state: 'active', networkInterfaceId: 'eni-1' },
        { destination: 'pl-63a5400a', destinationType: 'prefix-list', origin: 'CreateRoute', state: 'active', gatewayTarget: 'vpce-0123' },
        { destination: '10.0.0.0/8', destinationType: 'ipv4', origin: 'CreateRoute', state: 'active', gatewayTarget: 'tgw-1' },
        { destination: '192.168.0.0/16', destinationType: 'ipv4', origin: '', state: '' },
      ],
    });
    // toEqual ignores undefined members: make sure no target was invented for the ENI and bare routes.
    expect(table!.routes[1]!.gatewayTarget).toBeUndefined();
    expect(table!.routes[6]!.gatewayTarget).toBeUndefined();
    expect(table!.routes[6]!.networkInterfaceId).toBeUndefined();
  });

  test.each<[string, Route]>([
    ['igw-1', { GatewayId: 'igw-1' }],
    ['tgw-1', { TransitGatewayId: 'tgw-1' }],
    ['nat-1', { NatGatewayId: 'nat-1' }],
    ['pcx-1', { VpcPeeringConnectionId: 'pcx-1' }],
    ['eigw-1', { EgressOnlyInternetGatewayId: 'eigw-1' }],
    ['lgw-1', { LocalGatewayId: 'lgw-1' }],
    ['cagw-1', { CarrierGatewayId: 'cagw-1' }],
    ['arn:aws:networkmanager::111122223333:core-network/core-network-1', { CoreNetworkArn: 'arn:aws:networkmanager::111122223333:core-network/core-network-1' }],
    ['arn:aws:odb:us-west-2:111122223333:odb-network/odbnet-1', { OdbNetworkArn: 'arn:aws:odb:us-west-2:111122223333:odb-network/odbnet-1' }],
    ['10.20.9.9', { IpAddress: '10.20.9.9', Origin: 'Advertisement' }],
    ['tgw-first', { TransitGatewayId: 'tgw-first', NatGatewayId: 'nat-second' }],
  ])('gatewayTarget is %s', async (expected, target) => {
    ec2Mock.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1', Routes: [{ DestinationCidrBlock: '0.0.0.0/0', State: 'active', ...target }] }],
    });

    const [table] = await adapter().describeRouteTables({ kind: 'ids', routeTableIds: ['rtb-a'] });

    expect(table!.routes[0]!.gatewayTarget).toBe(expected);
    expect(table!.routes[0]!.networkInterfaceId).toBeUndefined();
  });
});

describe('Ec2Adapter.findNetworkInterfaces', () => {
  test('no IPs: no call at all', async () => {
    await expect(new Ec2Adapter(client).findNetworkInterfaces('vpc-1', [])).resolves.toEqual([]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 0);
  });

  test('450 IPv4 addresses (plus duplicates) go out in 3 batches of at most 199, each scoped to the VPC', async () => {
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });
    const ips = ipv4s(450);

    await new Ec2Adapter(client).findNetworkInterfaces('vpc-remote', [...ips, ...ips.slice(0, 50)]);

    const calls = addressFilterCalls();
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.address?.Values?.length)).toEqual([199, 199, 52]);
    for (const call of calls) {
      expect(call.vpc).toEqual(['vpc-remote']);
      expect(call.address?.Name).toBe('addresses.private-ip-address');
    }
    expect(calls.flatMap((c) => c.address?.Values ?? []).sort()).toEqual([...ips].sort());
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeNetworkInterfacesCommand, { MaxResults: 1000 });
  });

  test('maxFilterValues sets the batch size', async () => {
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });

    await new Ec2Adapter(client, { maxFilterValues: 100 }).findNetworkInterfaces('vpc-1', ipv4s(450));

    expect(addressFilterCalls().map((c) => c.address?.Values?.length)).toEqual([100, 100, 100, 100, 50]);
  });

  test.each([0, 200, 1.5])('maxFilterValues %p is refused (EC2 allows 200 filter values per call, vpc-id included)', (value) => {
    expect(() => new Ec2Adapter(client, { maxFilterValues: value })).toThrow(RangeError);
  });

  test('IPv6 addresses use the ipv6-addresses.ipv6-address filter, separate from IPv4', async () => {
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });

    await new Ec2Adapter(client).findNetworkInterfaces('vpc-1', ['10.20.1.10', '2600:1f14:abc::10', '2600:1f14:abc::11']);

    expect(addressFilterCalls()).toEqual([
      { vpc: ['vpc-1'], address: { Name: 'addresses.private-ip-address', Values: ['10.20.1.10'] } },
      { vpc: ['vpc-1'], address: { Name: 'ipv6-addresses.ipv6-address', Values: ['2600:1f14:abc::10', '2600:1f14:abc::11'] } },
    ]);
  });

  test('translates ENIs and reports each ENI once even when several batches find it', async () => {
    const dualStack: NetworkInterface = {
      NetworkInterfaceId: 'eni-1',
      VpcId: 'vpc-1',
      PrivateIpAddress: '10.20.1.10',
      PrivateIpAddresses: [{ PrivateIpAddress: '10.20.1.10', Primary: true }, { PrivateIpAddress: '10.20.1.11', Primary: false }],
      Ipv6Addresses: [{ Ipv6Address: '2600:1f14:abc::10' }],
      SourceDestCheck: false,
      Attachment: { InstanceId: 'i-1', AttachTime: new Date('2026-12-01T10:00:00.000Z') },
      Status: 'in-use',
    };
    const defaults: NetworkInterface = { NetworkInterfaceId: 'eni-2', VpcId: 'vpc-1', PrivateIpAddress: '10.20.1.20', Status: 'available' };
    ec2Mock
      .on(DescribeNetworkInterfacesCommand)
      .resolves({ NetworkInterfaces: [dualStack, defaults] })
      .on(DescribeNetworkInterfacesCommand, { Filters: [{ Name: 'vpc-id', Values: ['vpc-1'] }, { Name: 'ipv6-addresses.ipv6-address', Values: ['2600:1f14:abc::10'] }] })
      .resolves({ NetworkInterfaces: [dualStack] });

    const enis = await new Ec2Adapter(client).findNetworkInterfaces('vpc-1', ['10.20.1.10', '10.20.1.20', '2600:1f14:abc::10']);

    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 2);
    expect(enis).toEqual([
      {
        networkInterfaceId: 'eni-1',
        vpcId: 'vpc-1',
        privateIpAddresses: ['10.20.1.10', '10.20.1.11'],
        ipv6Addresses: ['2600:1f14:abc::10'],
        sourceDestCheck: false,
        instanceId: 'i-1',
        attachTime: '2026-12-01T10:00:00.000Z',
        status: 'in-use',
      },
      // SourceDestCheck missing: EC2's default (on), so the controller turns it off.
      { networkInterfaceId: 'eni-2', vpcId: 'vpc-1', privateIpAddresses: ['10.20.1.20'], ipv6Addresses: [], sourceDestCheck: true, status: 'available' },
    ]);
  });

  test('follows NextToken within a batch', async () => {
    ec2Mock
      .on(DescribeNetworkInterfacesCommand)
      .resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1', VpcId: 'vpc-1' }], NextToken: 'page-2' })
      .on(DescribeNetworkInterfacesCommand, { NextToken: 'page-2' })
      .resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-2', VpcId: 'vpc-1' }] });

    const enis = await new Ec2Adapter(client).findNetworkInterfaces('vpc-1', ['10.20.1.10', '10.20.1.20']);

    expect(enis.map((e) => e.networkInterfaceId)).toEqual(['eni-1', 'eni-2']);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 2);
  });

  test('a failure on page 2 rejects: a partial read is never returned', async () => {
    const failure = ec2Error('InternalError');
    ec2Mock
      .on(DescribeNetworkInterfacesCommand)
      .resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1', VpcId: 'vpc-1' }], NextToken: 'page-2' })
      .on(DescribeNetworkInterfacesCommand, { NextToken: 'page-2' })
      .rejects(failure);

    await expect(new Ec2Adapter(client).findNetworkInterfaces('vpc-1', ['10.20.1.10'])).rejects.toBe(failure);
  });

  test('a failure of one batch rejects the whole read', async () => {
    const failure = ec2Error('RequestLimitExceeded');
    let call = 0;
    ec2Mock.on(DescribeNetworkInterfacesCommand).callsFake(async () => {
      call += 1;
      if (call === 2) throw failure;
      return { NetworkInterfaces: [{ NetworkInterfaceId: `eni-${call}`, VpcId: 'vpc-1' }] };
    });

    await expect(new Ec2Adapter(client, { maxFilterValues: 10 }).findNetworkInterfaces('vpc-1', ipv4s(30))).rejects.toBe(failure);
  });

  test('runs at most `concurrency` batches at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    ec2Mock.on(DescribeNetworkInterfacesCommand).callsFake(async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return { NetworkInterfaces: [] };
    });

    await new Ec2Adapter(client, { maxFilterValues: 10, concurrency: 2 }).findNetworkInterfaces('vpc-1', ipv4s(60));

    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 6);
    expect(maxInFlight).toBe(2);
  });
});

describe('Ec2Adapter route mutations', () => {
  const adapter = () => new Ec2Adapter(client);

  test('createRoute: IPv4 destination to an ENI', async () => {
    ec2Mock.on(CreateRouteCommand).resolves({ Return: true });

    await expect(adapter().createRoute('rtb-a', '10.30.0.0/24', 'eni-1')).resolves.toBe('created');

    expect(ec2Mock).toHaveReceivedCommandWith(CreateRouteCommand, { RouteTableId: 'rtb-a', DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: 'eni-1' });
    expect(ec2Mock.commandCalls(CreateRouteCommand)[0]!.args[0].input.DestinationIpv6CidrBlock).toBeUndefined();
    expect(ec2Mock).toHaveReceivedCommandTimes(ReplaceRouteCommand, 0);
  });

  test('createRoute: IPv6 destination', async () => {
    ec2Mock.on(CreateRouteCommand).resolves({ Return: true });

    await adapter().createRoute('rtb-a', '2600:1f14:abc:100::/64', 'eni-1');

    expect(ec2Mock).toHaveReceivedCommandWith(CreateRouteCommand, { RouteTableId: 'rtb-a', DestinationIpv6CidrBlock: '2600:1f14:abc:100::/64', NetworkInterfaceId: 'eni-1' });
    expect(ec2Mock.commandCalls(CreateRouteCommand)[0]!.args[0].input.DestinationCidrBlock).toBeUndefined();
  });

  test('createRoute: RouteAlreadyExists on a route to an ENI becomes a ReplaceRoute', async () => {
    tableHolding({ NetworkInterfaceId: 'eni-9' });
    ec2Mock.on(CreateRouteCommand).rejects(ec2Error('RouteAlreadyExists'));
    ec2Mock.on(ReplaceRouteCommand).resolves({});

    await expect(adapter().createRoute('rtb-a', '10.30.0.0/24', 'eni-1')).resolves.toBe('replaced');

    expect(ec2Mock).toHaveReceivedCommandWith(ReplaceRouteCommand, { RouteTableId: 'rtb-a', DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: 'eni-1' });
  });

  test('createRoute: a plain Error named RouteAlreadyExists is recognised too', async () => {
    tableHolding({ NetworkInterfaceId: 'eni-9' });
    ec2Mock.on(CreateRouteCommand).rejects(Object.assign(new Error('exists'), { name: 'RouteAlreadyExists', $metadata: {} }));
    ec2Mock.on(ReplaceRouteCommand).resolves({});

    await expect(adapter().createRoute('rtb-a', '10.30.0.0/24', 'eni-1')).resolves.toBe('replaced');
  });

  test.each([
    ['a transit gateway', { TransitGatewayId: 'tgw-0123456789abcdef0' }, 'CreateRoute'],
    ['the local route', { GatewayId: 'local' }, 'CreateRouteTable'],
    ['a propagated route', { GatewayId: 'vgw-0123456789abcdef0' }, 'EnableVgwRoutePropagation'],
  ])('createRoute: RouteAlreadyExists on a route to %s is a RouteConflict, never replaced', async (_name, target, origin) => {
    tableHolding({ ...target, Origin: origin });
    ec2Mock.on(CreateRouteCommand).rejects(ec2Error('RouteAlreadyExists'));

    await expect(adapter().createRoute('rtb-a', '10.30.0.0/24', 'eni-1')).rejects.toMatchObject({ name: 'RouteConflict' });
    expect(ec2Mock).toHaveReceivedCommandTimes(ReplaceRouteCommand, 0);
  });

  test('createRoute: RouteAlreadyExists on an IPv6 route EC2 spells otherwise is still recognised as an ENI route', async () => {
    ec2Mock.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1', Routes: [{ DestinationIpv6CidrBlock: '2600:1F14:0ABC:0100:0:0:0:0/64', Origin: 'CreateRoute', State: 'active', NetworkInterfaceId: 'eni-9' }] }],
    });
    ec2Mock.on(CreateRouteCommand).rejects(ec2Error('RouteAlreadyExists'));
    ec2Mock.on(ReplaceRouteCommand).resolves({});

    await expect(adapter().createRoute('rtb-a', '2600:1f14:abc:100::/64', 'eni-1')).resolves.toBe('replaced');
  });

  test('createRoute: RouteAlreadyExists while the table does not show the route yet is a RouteConflict, never a blind replace', async () => {
    ec2Mock.on(DescribeRouteTablesCommand).resolves({ RouteTables: [{ RouteTableId: 'rtb-a', VpcId: 'vpc-1', Routes: [] }] });
    ec2Mock.on(CreateRouteCommand).rejects(ec2Error('RouteAlreadyExists'));

    await expect(adapter().createRoute('rtb-a', '10.30.0.0/24', 'eni-1')).rejects.toMatchObject({ name: 'RouteConflict', message: expect.stringMatching(/not visible yet; left as it is$/) });
    expect(ec2Mock).toHaveReceivedCommandTimes(ReplaceRouteCommand, 0);
  });

  test('createRoute: other errors propagate unchanged and nothing is replaced', async () => {
    const failure = ec2Error('RouteLimitExceeded');
    ec2Mock.on(CreateRouteCommand).rejects(failure);

    await expect(adapter().createRoute('rtb-a', '10.30.0.0/24', 'eni-1')).rejects.toBe(failure);
    expect(ec2Mock).toHaveReceivedCommandTimes(ReplaceRouteCommand, 0);
  });

  test('createRoute: if the fallback ReplaceRoute fails, that error propagates (no ping-pong)', async () => {
    const failure = ec2Error('InvalidRoute.NotFound');
    tableHolding({ NetworkInterfaceId: 'eni-9' });
    ec2Mock.on(CreateRouteCommand).rejects(ec2Error('RouteAlreadyExists'));
    ec2Mock.on(ReplaceRouteCommand).rejects(failure);

    await expect(adapter().createRoute('rtb-a', '10.30.0.0/24', 'eni-1')).rejects.toBe(failure);
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateRouteCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandTimes(ReplaceRouteCommand, 1);
  });

  test('replaceRoute: replaces the route', async () => {
    ec2Mock.on(ReplaceRouteCommand).resolves({});

    await expect(adapter().replaceRoute('rtb-a', '10.30.0.0/24', 'eni-2')).resolves.toBe('replaced');

    expect(ec2Mock).toHaveReceivedCommandWith(ReplaceRouteCommand, { RouteTableId: 'rtb-a', DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: 'eni-2' });
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateRouteCommand, 0);
  });

  test('replaceRoute: InvalidRoute.NotFound becomes a CreateRoute', async () => {
    ec2Mock.on(ReplaceRouteCommand).rejects(ec2Error('InvalidRoute.NotFound'));
    ec2Mock.on(CreateRouteCommand).resolves({ Return: true });

    await expect(adapter().replaceRoute('rtb-a', '2600:1f14:abc:100::/64', 'eni-2')).resolves.toBe('created');

    expect(ec2Mock).toHaveReceivedCommandWith(CreateRouteCommand, { RouteTableId: 'rtb-a', DestinationIpv6CidrBlock: '2600:1f14:abc:100::/64', NetworkInterfaceId: 'eni-2' });
  });

  test("replaceRoute: EC2's InvalidParameterValue 'There is no route defined' becomes a CreateRoute", async () => {
    const missing = new EC2ServiceException({
      name: 'InvalidParameterValue',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: "There is no route defined for '10.30.0.0/24' in the route table. Use CreateRoute instead.",
    });
    ec2Mock.on(ReplaceRouteCommand).rejects(missing);
    ec2Mock.on(CreateRouteCommand).resolves({ Return: true });

    await expect(adapter().replaceRoute('rtb-a', '10.30.0.0/24', 'eni-2')).resolves.toBe('created');
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateRouteCommand, 1);
  });

  test('replaceRoute: any other InvalidParameterValue propagates', async () => {
    const failure = ec2Error('InvalidParameterValue');
    ec2Mock.on(ReplaceRouteCommand).rejects(failure);

    await expect(adapter().replaceRoute('rtb-a', '10.30.0.0/24', 'eni-2')).rejects.toBe(failure);
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateRouteCommand, 0);
  });

  test('replaceRoute: other errors propagate unchanged', async () => {
    const failure = ec2Error('InvalidNetworkInterfaceID.NotFound');
    ec2Mock.on(ReplaceRouteCommand).rejects(failure);

    await expect(adapter().replaceRoute('rtb-a', '10.30.0.0/24', 'eni-2')).rejects.toBe(failure);
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateRouteCommand, 0);
  });

  test('deleteRoute: deletes by destination only', async () => {
    ec2Mock.on(DeleteRouteCommand).resolves({});

    await expect(adapter().deleteRoute('rtb-a', '10.30.0.0/24')).resolves.toBe('deleted');
    await expect(adapter().deleteRoute('rtb-a', '2600:1f14:abc:100::/64')).resolves.toBe('deleted');

    const inputs = ec2Mock.commandCalls(DeleteRouteCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([
      { RouteTableId: 'rtb-a', DestinationCidrBlock: '10.30.0.0/24' },
      { RouteTableId: 'rtb-a', DestinationIpv6CidrBlock: '2600:1f14:abc:100::/64' },
    ]);
  });

  test('deleteRoute: InvalidRoute.NotFound means already gone', async () => {
    ec2Mock.on(DeleteRouteCommand).rejects(ec2Error('InvalidRoute.NotFound'));

    await expect(adapter().deleteRoute('rtb-a', '10.30.0.0/24')).resolves.toBe('already-gone');
  });

  test('deleteRoute: other errors propagate unchanged', async () => {
    const failure = ec2Error('InvalidRouteTableID.NotFound');
    ec2Mock.on(DeleteRouteCommand).rejects(failure);

    await expect(adapter().deleteRoute('rtb-a', '10.30.0.0/24')).rejects.toBe(failure);
  });

  test('disableSourceDestCheck: modifies the ENI attribute, not the instance', async () => {
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    await adapter().disableSourceDestCheck('eni-1');

    expect(ec2Mock).toHaveReceivedCommandTimes(ModifyNetworkInterfaceAttributeCommand, 1);
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand)[0]!.args[0].input).toEqual({
      NetworkInterfaceId: 'eni-1',
      SourceDestCheck: { Value: false },
    });
  });

  test('disableSourceDestCheck: errors propagate', async () => {
    const failure = ec2Error('InvalidNetworkInterfaceID.NotFound');
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).rejects(failure);

    await expect(adapter().disableSourceDestCheck('eni-1')).rejects.toBe(failure);
  });
});

function eniIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `eni-${i.toString(16).padStart(17, '0')}`);
}

function instanceIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
}

/** EC2's answer when one of the ids in a request does not exist. */
function eniNotFound(id: string): EC2ServiceException {
  return new EC2ServiceException({
    name: 'InvalidNetworkInterfaceID.NotFound',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `The networkInterface ID '${id}' does not exist`,
  });
}

function instanceNotFound(id: string): EC2ServiceException {
  return new EC2ServiceException({
    name: 'InvalidInstanceID.NotFound',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `The instance ID '${id}' does not exist`,
  });
}

describe('Ec2Adapter ENI tags in records', () => {
  test('tags come from TagSet; an ENI without TagSet or with an empty one has no tags property', async () => {
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [
        {
          NetworkInterfaceId: 'eni-tagged',
          VpcId: 'vpc-1',
          TagSet: [
            { Key: 'eks-hybrid-routes/teardown', Value: 'mi-026d6a261e355fba7' },
            { Key: 'empty', Value: '' },
            { Key: 'no-value' },
            { Value: 'a value without key' },
          ],
        },
        { NetworkInterfaceId: 'eni-untagged', VpcId: 'vpc-1' },
        { NetworkInterfaceId: 'eni-empty-tagset', VpcId: 'vpc-1', TagSet: [] },
      ],
    });

    const [tagged, untagged, emptyTagSet] = await new Ec2Adapter(client).findNetworkInterfaces('vpc-1', ['10.20.1.10']);

    expect(tagged!.tags).toEqual({ 'eks-hybrid-routes/teardown': 'mi-026d6a261e355fba7', empty: '', 'no-value': '' });
    expect(untagged).not.toHaveProperty('tags');
    expect(emptyTagSet).not.toHaveProperty('tags');
  });
});

describe('Ec2Adapter.findTaggedNetworkInterfaces', () => {
  test('filters on vpc-id and tag-key (any value), paginated, and translates', async () => {
    ec2Mock
      .on(DescribeNetworkInterfacesCommand)
      .resolves({
        NetworkInterfaces: [
          { NetworkInterfaceId: 'eni-1', VpcId: 'vpc-1', PrivateIpAddress: '10.20.1.10', SourceDestCheck: false, Attachment: { InstanceId: 'i-1' }, Status: 'in-use', TagSet: [{ Key: 'eks-hybrid-routes/teardown', Value: 'node-a' }] },
        ],
        NextToken: 'page-2',
      })
      .on(DescribeNetworkInterfacesCommand, { NextToken: 'page-2' })
      .resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-2', VpcId: 'vpc-1', TagSet: [{ Key: 'eks-hybrid-routes/teardown', Value: 'node-b' }] }] });

    const enis = await new Ec2Adapter(client).findTaggedNetworkInterfaces('vpc-1', 'eks-hybrid-routes/teardown');

    expect(enis).toEqual([
      {
        networkInterfaceId: 'eni-1',
        vpcId: 'vpc-1',
        privateIpAddresses: ['10.20.1.10'],
        ipv6Addresses: [],
        sourceDestCheck: false,
        instanceId: 'i-1',
        status: 'in-use',
        tags: { 'eks-hybrid-routes/teardown': 'node-a' },
      },
      { networkInterfaceId: 'eni-2', vpcId: 'vpc-1', privateIpAddresses: [], ipv6Addresses: [], sourceDestCheck: true, tags: { 'eks-hybrid-routes/teardown': 'node-b' } },
    ]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 2);
    // (The paginator adds NextToken to the recorded input object, hence the member-wise check.)
    const input = ec2Mock.commandCalls(DescribeNetworkInterfacesCommand)[0]!.args[0].input;
    expect(input.Filters).toEqual([
      { Name: 'vpc-id', Values: ['vpc-1'] },
      { Name: 'tag-key', Values: ['eks-hybrid-routes/teardown'] },
    ]);
    expect(input.MaxResults).toBe(1000);
    expect(input.NetworkInterfaceIds).toBeUndefined();
  });

  test('errors propagate', async () => {
    const failure = ec2Error('UnauthorizedOperation');
    ec2Mock.on(DescribeNetworkInterfacesCommand).rejects(failure);

    await expect(new Ec2Adapter(client).findTaggedNetworkInterfaces('vpc-1', 'k')).rejects.toBe(failure);
  });
});

describe('Ec2Adapter.findInstanceNetworkInterfaces', () => {
  test('no instance ids: no call at all', async () => {
    await expect(new Ec2Adapter(client).findInstanceNetworkInterfaces('vpc-1', [])).resolves.toEqual([]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 0);
  });

  test('filters on vpc-id and attachment.instance-id', async () => {
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [
        { NetworkInterfaceId: 'eni-1', VpcId: 'vpc-1', Attachment: { InstanceId: 'i-1' } },
        { NetworkInterfaceId: 'eni-2', VpcId: 'vpc-1', Attachment: { InstanceId: 'i-2' } },
      ],
    });

    const enis = await new Ec2Adapter(client).findInstanceNetworkInterfaces('vpc-1', ['i-1', 'i-2', 'i-1']);

    expect(enis.map((e) => [e.networkInterfaceId, e.instanceId])).toEqual([
      ['eni-1', 'i-1'],
      ['eni-2', 'i-2'],
    ]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeNetworkInterfacesCommand, {
      Filters: [
        { Name: 'vpc-id', Values: ['vpc-1'] },
        { Name: 'attachment.instance-id', Values: ['i-1', 'i-2'] },
      ],
      MaxResults: 1000,
    });
  });

  test('450 instance ids (plus duplicates) go out in batches of at most 199, each scoped to the VPC', async () => {
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });
    const ids = instanceIds(450);

    await new Ec2Adapter(client).findInstanceNetworkInterfaces('vpc-remote', [...ids, ...ids.slice(0, 30)]);

    const calls = addressFilterCalls();
    expect(calls.map((c) => c.address?.Values?.length)).toEqual([199, 199, 52]);
    for (const call of calls) {
      expect(call.vpc).toEqual(['vpc-remote']);
      expect(call.address?.Name).toBe('attachment.instance-id');
    }
    expect(calls.flatMap((c) => c.address?.Values ?? []).sort()).toEqual([...ids].sort());
  });

  test('an ENI reported by two batches is returned once', async () => {
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1', VpcId: 'vpc-1' }] });

    const enis = await new Ec2Adapter(client, { maxFilterValues: 1 }).findInstanceNetworkInterfaces('vpc-1', ['i-1', 'i-2']);

    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 2);
    expect(enis.map((e) => e.networkInterfaceId)).toEqual(['eni-1']);
  });

  test('a failure of one batch rejects the whole read', async () => {
    const failure = ec2Error('RequestLimitExceeded');
    ec2Mock
      .on(DescribeNetworkInterfacesCommand)
      .resolves({ NetworkInterfaces: [] })
      .on(DescribeNetworkInterfacesCommand, { Filters: [{ Name: 'vpc-id', Values: ['vpc-1'] }, { Name: 'attachment.instance-id', Values: ['i-2'] }] })
      .rejects(failure);

    await expect(new Ec2Adapter(client, { maxFilterValues: 1 }).findInstanceNetworkInterfaces('vpc-1', ['i-1', 'i-2', 'i-3'])).rejects.toBe(failure);
  });
});

describe('Ec2Adapter.tagNetworkInterfaces', () => {
  test('one CreateTags with every tag', async () => {
    ec2Mock.on(CreateTagsCommand).resolves({});

    await new Ec2Adapter(client).tagNetworkInterfaces(['eni-1', 'eni-2', 'eni-1'], { 'eks-hybrid-routes/teardown': 'node-a', other: '' });

    expect(ec2Mock).toHaveReceivedCommandTimes(CreateTagsCommand, 1);
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]!.args[0].input).toEqual({
      Resources: ['eni-1', 'eni-2'],
      Tags: [
        { Key: 'eks-hybrid-routes/teardown', Value: 'node-a' },
        { Key: 'other', Value: '' },
      ],
    });
  });

  test('2500 ENIs go out in batches of at most 1000 resources', async () => {
    ec2Mock.on(CreateTagsCommand).resolves({});
    const ids = eniIds(2500);

    await new Ec2Adapter(client).tagNetworkInterfaces(ids, { k: 'v' });

    const batches = ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input.Resources ?? []);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat()).toEqual(ids);
  });

  test('no ENIs or no tags: no call at all', async () => {
    await new Ec2Adapter(client).tagNetworkInterfaces([], { k: 'v' });
    await new Ec2Adapter(client).tagNetworkInterfaces(['eni-1'], {});

    expect(ec2Mock).toHaveReceivedCommandTimes(CreateTagsCommand, 0);
  });

  test('other errors propagate', async () => {
    const failure = Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' });
    ec2Mock.on(CreateTagsCommand).rejects(failure);

    await expect(new Ec2Adapter(client).tagNetworkInterfaces(['eni-1', 'eni-2'], { k: 'v' })).rejects.toBe(failure);
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateTagsCommand, 1);
  });

  test('InvalidNetworkInterfaceID.NotFound: the batch is redone per ENI; the others are tagged and the missing ones returned', async () => {
    ec2Mock
      .on(CreateTagsCommand)
      .rejects(eniNotFound('eni-2'))
      .on(CreateTagsCommand, { Resources: ['eni-1'] })
      .resolves({})
      .on(CreateTagsCommand, { Resources: ['eni-2'] })
      .rejects(eniNotFound('eni-2'))
      .on(CreateTagsCommand, { Resources: ['eni-3'] })
      .resolves({});

    await expect(new Ec2Adapter(client).tagNetworkInterfaces(['eni-1', 'eni-2', 'eni-3'], { k: 'v' })).resolves.toEqual({ gone: ['eni-2'] });

    const resources = ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input.Resources);
    expect(resources[0]).toEqual(['eni-1', 'eni-2', 'eni-3']);
    expect(resources.slice(1).sort()).toEqual([['eni-1'], ['eni-2'], ['eni-3']]);
  });

  test('a failure other than NotFound on the per-ENI retry propagates', async () => {
    const failure = Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' });
    ec2Mock.on(CreateTagsCommand).rejects(eniNotFound('eni-2')).on(CreateTagsCommand, { Resources: ['eni-1'] }).rejects(failure);

    await expect(new Ec2Adapter(client).tagNetworkInterfaces(['eni-1', 'eni-2'], { k: 'v' })).rejects.toBe(failure);
  });
});

describe('Ec2Adapter.untagNetworkInterfaces', () => {
  test('DeleteTags by key only, so the tag goes whatever its value', async () => {
    ec2Mock.on(DeleteTagsCommand).resolves({});

    await new Ec2Adapter(client).untagNetworkInterfaces(['eni-1', 'eni-2', 'eni-2'], ['eks-hybrid-routes/teardown', 'eks-hybrid-routes/teardown']);

    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteTagsCommand, 1);
    expect(ec2Mock.commandCalls(DeleteTagsCommand)[0]!.args[0].input).toEqual({
      Resources: ['eni-1', 'eni-2'],
      Tags: [{ Key: 'eks-hybrid-routes/teardown' }],
    });
  });

  test('2001 ENIs go out in batches of at most 1000 resources', async () => {
    ec2Mock.on(DeleteTagsCommand).resolves({});
    const ids = eniIds(2001);

    await new Ec2Adapter(client).untagNetworkInterfaces(ids, ['k']);

    const batches = ec2Mock.commandCalls(DeleteTagsCommand).map((call) => call.args[0].input.Resources ?? []);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 1]);
    expect(batches.flat()).toEqual(ids);
  });

  test('no ENIs or no keys: no call at all (no keys would mean "delete every tag")', async () => {
    await new Ec2Adapter(client).untagNetworkInterfaces([], ['k']);
    await new Ec2Adapter(client).untagNetworkInterfaces(['eni-1'], []);

    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteTagsCommand, 0);
  });

  test('InvalidNetworkInterfaceID.NotFound: the batch is redone per ENI and the missing ones are skipped', async () => {
    ec2Mock
      .on(DeleteTagsCommand)
      .rejects(eniNotFound('eni-2'))
      .on(DeleteTagsCommand, { Resources: ['eni-1'] })
      .resolves({})
      .on(DeleteTagsCommand, { Resources: ['eni-2'] })
      .rejects(eniNotFound('eni-2'))
      .on(DeleteTagsCommand, { Resources: ['eni-3'] })
      .rejects(eniNotFound('eni-3'))
      .on(DeleteTagsCommand, { Resources: ['eni-4'] })
      .resolves({});

    await expect(new Ec2Adapter(client).untagNetworkInterfaces(['eni-1', 'eni-2', 'eni-3', 'eni-4'], ['k'])).resolves.toBeUndefined();

    const resources = ec2Mock.commandCalls(DeleteTagsCommand).map((call) => call.args[0].input.Resources);
    expect(resources[0]).toEqual(['eni-1', 'eni-2', 'eni-3', 'eni-4']);
    expect(resources.slice(1).sort()).toEqual([['eni-1'], ['eni-2'], ['eni-3'], ['eni-4']]);
    for (const call of ec2Mock.commandCalls(DeleteTagsCommand)) expect(call.args[0].input.Tags).toEqual([{ Key: 'k' }]);
  });

  test('the per-ENI fallback only covers the batch that failed', async () => {
    const ids = eniIds(1001);
    ec2Mock
      .on(DeleteTagsCommand)
      .resolves({})
      .on(DeleteTagsCommand, { Resources: ids.slice(1000) })
      .rejects(eniNotFound(ids[1000]!));

    await new Ec2Adapter(client).untagNetworkInterfaces(ids, ['k']);

    // 1000-batch, 1-batch (fails), then the single id again on its own.
    expect(ec2Mock.commandCalls(DeleteTagsCommand).map((call) => call.args[0].input.Resources?.length)).toEqual([1000, 1, 1]);
  });

  test('other errors propagate, also from the per-ENI fallback', async () => {
    const denied = ec2Error('UnauthorizedOperation');
    ec2Mock.on(DeleteTagsCommand).rejects(denied);
    await expect(new Ec2Adapter(client).untagNetworkInterfaces(['eni-1'], ['k'])).rejects.toBe(denied);
    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteTagsCommand, 1);

    ec2Mock.reset();
    const malformed = ec2Error('InvalidNetworkInterfaceID.Malformed');
    ec2Mock
      .on(DeleteTagsCommand)
      .rejects(eniNotFound('eni-1'))
      .on(DeleteTagsCommand, { Resources: ['eni-x'] })
      .rejects(malformed);
    await expect(new Ec2Adapter(client).untagNetworkInterfaces(['eni-1', 'eni-x'], ['k'])).rejects.toBe(malformed);
  });
});

describe('Ec2Adapter.enableSourceDestCheck', () => {
  test('sets SourceDestCheck=true on the ENI', async () => {
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    await expect(new Ec2Adapter(client).enableSourceDestCheck('eni-1')).resolves.toBe('enabled');

    expect(ec2Mock).toHaveReceivedCommandTimes(ModifyNetworkInterfaceAttributeCommand, 1);
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand)[0]!.args[0].input).toEqual({
      NetworkInterfaceId: 'eni-1',
      SourceDestCheck: { Value: true },
    });
  });

  test('InvalidNetworkInterfaceID.NotFound: already gone', async () => {
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).rejects(eniNotFound('eni-1'));

    await expect(new Ec2Adapter(client).enableSourceDestCheck('eni-1')).resolves.toBe('already-gone');
  });

  test('other errors propagate', async () => {
    const failure = ec2Error('UnauthorizedOperation');
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).rejects(failure);

    await expect(new Ec2Adapter(client).enableSourceDestCheck('eni-1')).rejects.toBe(failure);
  });
});

describe('Ec2Adapter.describeInstances', () => {
  test('no ids: no call at all (it would mean "every instance")', async () => {
    await expect(new Ec2Adapter(client).describeInstances([])).resolves.toEqual([]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 0);
  });

  test('asks with an instance-id filter (unknown ids are simply absent), follows NextToken, translates', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({
        Reservations: [
          { Instances: [{ InstanceId: 'i-1', State: { Name: 'running', Code: 16 } }, { InstanceId: 'i-2', State: { Name: 'terminated', Code: 48 } }] },
        ],
        NextToken: 'page-2',
      })
      .on(DescribeInstancesCommand, { NextToken: 'page-2' })
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-3', State: { Name: 'stopped' } }, { InstanceId: 'i-4' }, { State: { Name: 'running' } }] }, {}] });

    const records = await new Ec2Adapter(client).describeInstances(['i-1', 'i-2', 'i-3', 'i-4', 'i-unknown', 'i-1']);

    expect(records).toEqual([
      { instanceId: 'i-1', state: 'running' },
      { instanceId: 'i-2', state: 'terminated' },
      { instanceId: 'i-3', state: 'stopped' },
      { instanceId: 'i-4', state: '' },
    ]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
    const input = ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input;
    expect(input.Filters).toEqual([{ Name: 'instance-id', Values: ['i-1', 'i-2', 'i-3', 'i-4', 'i-unknown'] }]);
    expect(input.MaxResults).toBe(1000);
    expect(input.InstanceIds).toBeUndefined();
  });

  test('450 ids go out in batches of at most 199 filter values', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const ids = instanceIds(450);

    await new Ec2Adapter(client).describeInstances(ids);

    const batches = ec2Mock.commandCalls(DescribeInstancesCommand).map((call) => call.args[0].input.Filters?.[0]?.Values ?? []);
    expect(batches.map((b) => b.length)).toEqual([199, 199, 52]);
    expect(batches.flat().sort()).toEqual([...ids].sort());
  });

  test('errors propagate: a partial answer is never returned', async () => {
    const failure = ec2Error('RequestLimitExceeded');
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'running' } }] }], NextToken: 'page-2' })
      .on(DescribeInstancesCommand, { NextToken: 'page-2' })
      .rejects(failure);

    await expect(new Ec2Adapter(client).describeInstances(['i-1', 'i-2'])).rejects.toBe(failure);
  });
});

describe('Ec2Adapter.terminateInstances', () => {
  const terminating = (...ids: string[]) => ({
    TerminatingInstances: ids.map((id) => ({ InstanceId: id, PreviousState: { Name: 'running' as const }, CurrentState: { Name: 'shutting-down' as const } })),
  });

  test('no ids: no call at all', async () => {
    await expect(new Ec2Adapter(client).terminateInstances([])).resolves.toEqual([]);
    expect(ec2Mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 0);
  });

  test('one call for all ids; returns each instance\'s state after the call', async () => {
    ec2Mock.on(TerminateInstancesCommand).resolves({
      TerminatingInstances: [
        { InstanceId: 'i-1', PreviousState: { Name: 'running' }, CurrentState: { Name: 'shutting-down' } },
        { InstanceId: 'i-2', PreviousState: { Name: 'terminated' }, CurrentState: { Name: 'terminated' } }, // terminating twice is fine
        { InstanceId: 'i-3' },
      ],
    });

    const records = await new Ec2Adapter(client).terminateInstances(['i-1', 'i-2', 'i-3', 'i-1']);

    expect(records).toEqual([
      { instanceId: 'i-1', state: 'shutting-down' },
      { instanceId: 'i-2', state: 'terminated' },
      { instanceId: 'i-3', state: '' },
    ]);
    expect(ec2Mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 1);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-1', 'i-2', 'i-3'] });
  });

  test('2500 ids go out in batches of at most 1000', async () => {
    ec2Mock.on(TerminateInstancesCommand).callsFake(async (input: { InstanceIds: string[] }) => terminating(...input.InstanceIds));
    const ids = instanceIds(2500);

    const records = await new Ec2Adapter(client).terminateInstances(ids);

    const batches = ec2Mock.commandCalls(TerminateInstancesCommand).map((call) => call.args[0].input.InstanceIds ?? []);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat()).toEqual(ids);
    expect(records).toHaveLength(2500);
  });

  test('InvalidInstanceID.NotFound: the batch is redone per instance, unknown ids are left out', async () => {
    ec2Mock
      .on(TerminateInstancesCommand)
      .rejects(instanceNotFound('i-gone'))
      .on(TerminateInstancesCommand, { InstanceIds: ['i-1'] })
      .resolves(terminating('i-1'))
      .on(TerminateInstancesCommand, { InstanceIds: ['i-gone'] })
      .rejects(instanceNotFound('i-gone'))
      .on(TerminateInstancesCommand, { InstanceIds: ['i-2'] })
      .resolves(terminating('i-2'));

    const records = await new Ec2Adapter(client).terminateInstances(['i-1', 'i-gone', 'i-2']);

    expect(records).toEqual([
      { instanceId: 'i-1', state: 'shutting-down' },
      { instanceId: 'i-2', state: 'shutting-down' },
    ]);
    const calls = ec2Mock.commandCalls(TerminateInstancesCommand).map((call) => call.args[0].input.InstanceIds);
    expect(calls[0]).toEqual(['i-1', 'i-gone', 'i-2']);
    expect(calls.slice(1).sort()).toEqual([['i-1'], ['i-2'], ['i-gone']]);
  });

  test('other errors propagate, also from the per-instance fallback', async () => {
    const denied = ec2Error('UnauthorizedOperation');
    ec2Mock.on(TerminateInstancesCommand).rejects(denied);
    await expect(new Ec2Adapter(client).terminateInstances(['i-1'])).rejects.toBe(denied);
    expect(ec2Mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 1);

    ec2Mock.reset();
    const protectedInstance = ec2Error('OperationNotPermitted');
    ec2Mock
      .on(TerminateInstancesCommand)
      .rejects(instanceNotFound('i-gone'))
      .on(TerminateInstancesCommand, { InstanceIds: ['i-1'] })
      .rejects(protectedInstance)
      .on(TerminateInstancesCommand, { InstanceIds: ['i-gone'] })
      .rejects(instanceNotFound('i-gone'));
    await expect(new Ec2Adapter(client).terminateInstances(['i-1', 'i-gone'])).rejects.toBe(protectedInstance);
  });
});

describe('isAwsError', () => {
  test('matches on the error name the SDK sets from the EC2 error code', () => {
    expect(isAwsError(ec2Error('InvalidRoute.NotFound'), 'InvalidRoute.NotFound')).toBe(true);
    expect(isAwsError(ec2Error('InvalidRoute.NotFound'), 'RouteAlreadyExists')).toBe(false);
    expect(isAwsError(new Error('InvalidRoute.NotFound'), 'InvalidRoute.NotFound')).toBe(false);
    expect(isAwsError({ name: 'InvalidRoute.NotFound' }, 'InvalidRoute.NotFound')).toBe(true);
    expect(isAwsError('InvalidRoute.NotFound', 'InvalidRoute.NotFound')).toBe(false);
    expect(isAwsError(undefined, 'InvalidRoute.NotFound')).toBe(false);
  });
});
