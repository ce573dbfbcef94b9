/**
 * Fidelity of the local EC2: the real SDK v3 EC2Client (serializer, XML deserializer, error parsing,
 * paginators, retries) and the project's Ec2Adapter against the local cloud over HTTP.
 */
import {
  CreateRouteCommand,
  CreateTagsCommand,
  DeleteRouteCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceRouteCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeRouteTables,
} from '@aws-sdk/client-ec2';
import { Ec2Adapter } from '../../functions/adapters/ec2.js';
import { loadScenario } from '../localcloud/scenario.js';
import { type LocalCloud, startLocalCloud } from '../localcloud/server.js';
import type { LocalNetworkInterface } from '../localcloud/state.js';

const VPC = 'vpc-0a1b2c3d4e5f60718';
const RTB_A = 'rtb-0a1b2c3d4e5f60101';
const RTB_B = 'rtb-0a1b2c3d4e5f60102';
const RTB_C = 'rtb-0a1b2c3d4e5f60103';
const ENI_1 = 'eni-0a1b2c3d4e5f60001';
const ENI_2 = 'eni-0a1b2c3d4e5f60002';
const I_1 = 'i-0a1b2c3d4e5f60001';
const TGW = 'tgw-0a1b2c3d4e5f60718';

let cloud: LocalCloud;
let client: EC2Client;

const newClient = (maxAttempts = 3) =>
  new EC2Client({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: { accessKeyId: 'AKIDLOCALCLOUD', secretAccessKey: 'localcloud-secret' },
    maxAttempts,
  });

beforeAll(async () => {
  cloud = await startLocalCloud();
  client = newClient();
});

afterAll(async () => {
  client?.destroy();
  await cloud?.stop();
});

/** Each test starts from the default scenario's EC2 world. */
beforeEach(() => {
  const fresh = loadScenario();
  cloud.state.routeTables = fresh.routeTables;
  cloud.state.networkInterfaces = fresh.networkInterfaces;
  cloud.state.instances = fresh.instances;
  cloud.state.quotas = fresh.quotas;
  cloud.state.calls.length = 0;
  cloud.faults.clear();
  cloud.throttling.enabled = false;
  cloud.throttling.reset();
});

/** The error the SDK throws, as the adapter sees it. */
async function sdkError(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

function addEnis(count: number, firstIp: (n: number) => string): LocalNetworkInterface[] {
  return Array.from({ length: count }, (_, n) => {
    const eni: LocalNetworkInterface = {
      id: `eni-${(0xa0000 + n).toString(16).padStart(17, '0')}`,
      vpcId: VPC,
      subnetId: 'subnet-0a1b2c3d4e5f60101',
      privateIp: firstIp(n),
      ipv6Addresses: [],
      sourceDestCheck: true,
      tags: {},
    };
    cloud.state.networkInterfaces.set(eni.id, eni);
    return eni;
  });
}

describe('EC2Client against the local EC2', () => {
  // AWS: Amazon EC2 API Reference, DescribeRouteTables — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
  // AWS: Amazon EC2 API Reference, Route (data type: State active|blackhole, Origin CreateRouteTable|CreateRoute) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html
  test('DescribeRouteTables deserializes tables, routes, tags and empty sets', async () => {
    const out = await client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.NextToken).toBeUndefined();
    expect(out.RouteTables).toEqual([
      {
        RouteTableId: RTB_A,
        VpcId: VPC,
        OwnerId: '123456789012',
        Associations: [],
        PropagatingVgws: [],
        Routes: [
          { DestinationCidrBlock: '10.20.0.0/16', GatewayId: 'local', State: 'active', Origin: 'CreateRouteTable' },
          { DestinationCidrBlock: '10.10.0.0/16', TransitGatewayId: TGW, State: 'active', Origin: 'CreateRoute' },
        ],
        Tags: [
          { Key: 'Name', Value: 'idc-tgw-us-west-2a' },
          { Key: 'eks-hybrid-routes/managed', Value: 'true' },
        ],
      },
    ]);
  });

  // AWS: Amazon EC2 API Reference, DescribeRouteTables — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
  test('the paginator follows NextToken across pages of a tag filter', async () => {
    for (let n = 0; n < 9; n++) {
      const id = `rtb-${(0xb0000 + n).toString(16).padStart(17, '0')}`;
      cloud.state.routeTables.set(id, { id, vpcId: VPC, tags: { 'eks-hybrid-routes/managed': 'true' }, routes: [] });
    }
    const ids: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeRouteTables(
      { client, pageSize: 5 },
      { Filters: [{ Name: 'tag:eks-hybrid-routes/managed', Values: ['true'] }] },
    )) {
      pages++;
      ids.push(...(page.RouteTables ?? []).map((table) => table.RouteTableId!));
    }
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(12);
  });

  // AWS: Amazon EC2 API Reference, CreateRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html
  // AWS: Amazon EC2 API Reference, ReplaceRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRoute.html
  // AWS: Amazon EC2 API Reference, DeleteRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRoute.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('route mutations and their error codes', async () => {
    await client.send(new CreateRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 }));
    const described = await client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }));
    expect(described.RouteTables![0]!.Routes).toContainEqual({
      DestinationCidrBlock: '10.30.0.0/24',
      InstanceId: I_1,
      InstanceOwnerId: '123456789012',
      NetworkInterfaceId: ENI_1,
      State: 'active',
      Origin: 'CreateRoute',
    });
    expect(await sdkError(client.send(new CreateRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_2 })))).toEqual({
      name: 'RouteAlreadyExists',
      message: 'The route identified by 10.30.0.0/24 already exists.',
      status: 400,
    });
    await client.send(new ReplaceRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_2 }));
    expect(await sdkError(client.send(new ReplaceRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.30.9.0/24', NetworkInterfaceId: ENI_2 })))).toMatchObject({
      name: 'InvalidParameterValue',
      message: "There is no route defined for '10.30.9.0/24' in the route table. Use CreateRoute instead.",
    });
    await client.send(new DeleteRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24' }));
    expect(await sdkError(client.send(new DeleteRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24' })))).toMatchObject({
      name: 'InvalidRoute.NotFound',
      status: 400,
    });
    expect(await sdkError(client.send(new DeleteRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.20.0.0/16' })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(
      await sdkError(client.send(new CreateRouteCommand({ RouteTableId: 'rtb-00000000000000009', DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 }))),
    ).toMatchObject({ name: 'InvalidRouteTableID.NotFound', message: "The routeTable ID 'rtb-00000000000000009' does not exist" });
    expect(
      await sdkError(client.send(new CreateRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: 'eni-00000000000000009' }))),
    ).toMatchObject({ name: 'InvalidNetworkInterfaceID.NotFound' });
  });

  // AWS: Amazon VPC User Guide, Amazon VPC quotas (Route tables: routes per route table, default 50) — https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html
  // AWS: Amazon EC2 API Reference, CreateRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('RouteLimitExceeded once the table holds the quota', async () => {
    cloud.state.quotas.routesPerRouteTable = 3;
    await client.send(new CreateRouteCommand({ RouteTableId: RTB_B, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 }));
    expect(await sdkError(client.send(new CreateRouteCommand({ RouteTableId: RTB_B, DestinationCidrBlock: '10.30.1.0/24', NetworkInterfaceId: ENI_1 })))).toMatchObject({
      name: 'RouteLimitExceeded',
      status: 400,
    });
  });

  // AWS: Amazon EC2 API Reference, DescribeNetworkInterfaces — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('FilterLimitExceeded and unknown filters come back as SDK errors', async () => {
    const addresses = Array.from({ length: 200 }, (_, i) => `10.20.9.${i}`);
    expect(
      await sdkError(
        client.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [VPC] }, { Name: 'addresses.private-ip-address', Values: addresses }] })),
      ),
    ).toMatchObject({ name: 'FilterLimitExceeded', status: 400 });
    expect(await sdkError(client.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
  });

  // AWS: Amazon EC2 API Reference, DescribeNetworkInterfaces — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
  // AWS: Amazon EC2 API Reference, ModifyNetworkInterfaceAttribute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html
  test('network interfaces: attachment, addresses and source/dest check round-trip', async () => {
    await client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI_1, SourceDestCheck: { Value: false } }));
    const out = await client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ENI_1] }));
    const eni = out.NetworkInterfaces![0]!;
    expect(eni).toMatchObject({
      NetworkInterfaceId: ENI_1,
      VpcId: VPC,
      SubnetId: 'subnet-0a1b2c3d4e5f60001',
      AvailabilityZone: 'us-west-2a',
      Status: 'in-use',
      PrivateIpAddress: '10.20.1.10',
      SourceDestCheck: false,
      RequesterManaged: false,
      Groups: [],
      TagSet: [],
      Ipv6Addresses: [],
      Attachment: { InstanceId: I_1, InstanceOwnerId: '123456789012', DeviceIndex: 0, Status: 'attached', DeleteOnTermination: true },
    });
    expect(eni.PrivateIpAddresses).toEqual([{ PrivateIpAddress: '10.20.1.10', PrivateDnsName: 'ip-10-20-1-10.us-west-2.compute.internal', Primary: true }]);
    expect(cloud.state.networkInterfaces.get(ENI_1)!.sourceDestCheck).toBe(false);
  });

  // AWS: Amazon EC2 API Reference, DescribeInstances — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
  // AWS: Amazon EC2 API Reference, StopInstances — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StopInstances.html
  // AWS: Amazon EC2 API Reference, StartInstances — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StartInstances.html
  // AWS: Amazon EC2 API Reference, TerminateInstances — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html
  // AWS: Amazon EC2 API Reference, Route (data type: State active|blackhole, Origin CreateRouteTable|CreateRoute) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html
  // AWS: Amazon VPC User Guide, Configure route tables (route tables, route status, origin) — https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html
  test('instances: describe, stop/start, terminate → the route turns blackhole and loses its instance', async () => {
    await client.send(new CreateRouteCommand({ RouteTableId: RTB_A, DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1 }));
    const described = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'private-ip-address', Values: ['10.20.1.10'] }] }));
    const instance = described.Reservations![0]!.Instances![0]!;
    expect(instance).toMatchObject({
      InstanceId: I_1,
      State: { Code: 16, Name: 'running' },
      PrivateIpAddress: '10.20.1.10',
      VpcId: VPC,
      SourceDestCheck: true,
      Tags: [{ Key: 'Name', Value: 'hybrid-node-1' }],
    });
    expect(instance.NetworkInterfaces!.map((eni) => [eni.NetworkInterfaceId, eni.SourceDestCheck])).toEqual([[ENI_1, true]]);

    const stopped = await client.send(new StopInstancesCommand({ InstanceIds: [I_1] }));
    expect(stopped.StoppingInstances).toEqual([{ InstanceId: I_1, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }]);
    const routeState = async () =>
      (await client.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_A] }))).RouteTables![0]!.Routes!.find((r) => r.DestinationCidrBlock === '10.30.0.0/24');
    expect((await routeState())?.State).toBe('blackhole');
    const started = await client.send(new StartInstancesCommand({ InstanceIds: [I_1] }));
    expect(started.StartingInstances![0]!.CurrentState).toEqual({ Code: 0, Name: 'pending' });
    expect((await routeState())?.State).toBe('active');

    const terminated = await client.send(new TerminateInstancesCommand({ InstanceIds: [I_1] }));
    expect(terminated.TerminatingInstances).toEqual([{ InstanceId: I_1, CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } }]);
    expect(await routeState()).toEqual({ DestinationCidrBlock: '10.30.0.0/24', NetworkInterfaceId: ENI_1, State: 'blackhole', Origin: 'CreateRoute' });
    const after = await client.send(new DescribeInstancesCommand({ InstanceIds: [I_1] }));
    expect(after.Reservations![0]!.Instances![0]!.State).toEqual({ Code: 48, Name: 'terminated' });
    expect(await sdkError(client.send(new TerminateInstancesCommand({ InstanceIds: ['i-00000000000000009'] })))).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
  });

  // AWS: Amazon EC2 API Reference, CreateTags — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTags.html
  // AWS: Amazon EC2 API Reference, DeleteTags — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteTags.html
  // AWS: Amazon EC2 API Reference, DescribeNetworkInterfaces (filters tag:<key>, tag-key, attachment.instance-id) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('ENI tags: CreateTags, tag-key / tag:<key> / attachment.instance-id filters, DeleteTags by key or key and value', async () => {
    const PAUSE = 'eks-hybrid-routes/teardown';
    const created = await client.send(new CreateTagsCommand({ Resources: [ENI_1, ENI_2], Tags: [{ Key: PAUSE, Value: 'paused-by-test' }, { Key: 'note', Value: '' }] }));
    expect(created.$metadata.httpStatusCode).toBe(200);
    const tagged = await client.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [VPC] }, { Name: 'tag-key', Values: [PAUSE] }] }));
    expect(tagged.NetworkInterfaces!.map((eni) => eni.NetworkInterfaceId)).toEqual([ENI_1, ENI_2]);
    expect(tagged.NetworkInterfaces![0]!.TagSet).toEqual([
      { Key: PAUSE, Value: 'paused-by-test' },
      { Key: 'note', Value: '' },
    ]);
    const byValue = await client.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: `tag:${PAUSE}`, Values: ['paused-*'] }, { Name: 'attachment.instance-id', Values: [I_1, 'i-00000000000000009'] }] }));
    expect(byValue.NetworkInterfaces!.map((eni) => eni.NetworkInterfaceId)).toEqual([ENI_1]);

    // Key only: deleted whatever the value. Key and value: only on a match (the value '' matches only '').
    await client.send(new DeleteTagsCommand({ Resources: [ENI_1], Tags: [{ Key: PAUSE }, { Key: 'note', Value: 'not-empty' }] }));
    await client.send(new DeleteTagsCommand({ Resources: [ENI_2], Tags: [{ Key: PAUSE, Value: 'other' }, { Key: 'note', Value: '' }] }));
    expect(cloud.state.networkInterfaces.get(ENI_1)!.tags).toEqual({ note: '' });
    expect(cloud.state.networkInterfaces.get(ENI_2)!.tags).toEqual({ [PAUSE]: 'paused-by-test' });

    expect(await sdkError(client.send(new CreateTagsCommand({ Resources: [ENI_1, 'eni-0ffffffffffffffff'], Tags: [{ Key: 'k', Value: 'v' }] })))).toEqual({
      name: 'InvalidNetworkInterfaceID.NotFound',
      message: "The networkInterface ID 'eni-0ffffffffffffffff' does not exist",
      status: 400,
    });
    expect(cloud.state.networkInterfaces.get(ENI_1)!.tags).toEqual({ note: '' }); // nothing tagged
    expect(await sdkError(client.send(new DeleteTagsCommand({ Resources: ['eni-0ffffffffffffffff'], Tags: [{ Key: PAUSE }] })))).toMatchObject({ name: 'InvalidNetworkInterfaceID.NotFound', status: 400 });
    expect(await sdkError(client.send(new CreateTagsCommand({ Resources: ['i-0ffffffffffffffff'], Tags: [{ Key: 'k', Value: 'v' }] })))).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    expect(await sdkError(client.send(new CreateTagsCommand({ Resources: ['rtb-0ffffffffffffffff'], Tags: [{ Key: 'k', Value: 'v' }] })))).toMatchObject({ name: 'InvalidRouteTableID.NotFound' });
    await client.send(new CreateTagsCommand({ Resources: [I_1, RTB_A], Tags: [{ Key: 'k', Value: 'v' }] }));
    const instance = (await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:k', Values: ['v'] }] }))).Reservations!.flatMap((r) => r.Instances!);
    expect(instance.map((i) => i.InstanceId)).toEqual([I_1]);
    expect((await client.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag-key', Values: ['k'] }] }))).RouteTables!.map((t) => t.RouteTableId)).toEqual([RTB_A]);
  });

  // AWS: Amazon EC2 API Reference, DescribeInstances (filter instance-id) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
  // AWS: Amazon EC2 API Reference, TerminateInstances — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html
  // AWS: Amazon EC2 API Reference, ModifyNetworkInterfaceAttribute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html
  test('teardown calls: restore source/dest check, describe by instance-id filter (unknown ids absent), terminate twice', async () => {
    await client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI_2, SourceDestCheck: { Value: false } }));
    await client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI_2, SourceDestCheck: { Value: true } }));
    expect((await client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ENI_2] }))).NetworkInterfaces![0]!.SourceDestCheck).toBe(true);

    const states = async (ids: string[]) =>
      (await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids }] }))).Reservations!.flatMap((r) => r.Instances!).map((i) => [i.InstanceId, i.State!.Name]);
    expect(await states([I_1, 'i-00000000000000009'])).toEqual([[I_1, 'running']]);

    const first = await client.send(new TerminateInstancesCommand({ InstanceIds: [I_1] }));
    expect(first.TerminatingInstances![0]).toMatchObject({ CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } });
    const second = await client.send(new TerminateInstancesCommand({ InstanceIds: [I_1] }));
    expect(second.TerminatingInstances).toEqual([{ InstanceId: I_1, CurrentState: { Code: 48, Name: 'terminated' }, PreviousState: { Code: 48, Name: 'terminated' } }]);
    expect(await states([I_1])).toEqual([[I_1, 'terminated']]);
    // The primary ENI went with the instance: restoring its check is InvalidNetworkInterfaceID.NotFound.
    expect(await sdkError(client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI_1, SourceDestCheck: { Value: true } })))).toMatchObject({
      name: 'InvalidNetworkInterfaceID.NotFound',
      status: 400,
    });
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('throttling is RequestLimitExceeded with HTTP 503, which the SDK retries', async () => {
    cloud.faults.addFault({ service: 'ec2', action: 'DescribeRouteTables', kind: 'error', code: 'RequestLimitExceeded', message: 'Request limit exceeded.', times: 1 });
    const once = newClient(1);
    try {
      expect(await sdkError(once.send(new DescribeRouteTablesCommand({})))).toEqual({ name: 'RequestLimitExceeded', message: 'Request limit exceeded.', status: 503 });
    } finally {
      once.destroy();
    }
    cloud.faults.addFault({ service: 'ec2', action: 'DescribeRouteTables', kind: 'error', code: 'RequestLimitExceeded', times: 1 });
    const out = await client.send(new DescribeRouteTablesCommand({}));
    expect(out.$metadata.attempts).toBe(2);
    expect(out.RouteTables).toHaveLength(3);
  });
});

describe('Ec2Adapter against the local EC2', () => {
  let adapter: Ec2Adapter;
  beforeAll(() => {
    adapter = new Ec2Adapter(client);
  });

  // AWS: Amazon EC2 API Reference, DescribeRouteTables — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
  // AWS: Amazon EC2 API Reference, Route (data type: State active|blackhole, Origin CreateRouteTable|CreateRoute) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html
  test('describeRouteTables by ids', async () => {
    const tables = await adapter.describeRouteTables({ kind: 'ids', routeTableIds: [RTB_C, RTB_A] });
    expect(tables.map((table) => table.routeTableId).sort()).toEqual([RTB_A, RTB_C]);
    expect(tables.find((table) => table.routeTableId === RTB_A)!.routes).toEqual([
      { destination: '10.20.0.0/16', destinationType: 'ipv4', origin: 'CreateRouteTable', state: 'active', gatewayTarget: 'local' },
      { destination: '10.10.0.0/16', destinationType: 'ipv4', origin: 'CreateRoute', state: 'active', gatewayTarget: TGW },
    ]);
  });

  // AWS: Amazon EC2 API Reference, DescribeRouteTables — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
  test('describeRouteTables by tag', async () => {
    cloud.state.routeTables.get(RTB_B)!.tags['eks-hybrid-routes/managed'] = 'false';
    const tables = await adapter.describeRouteTables({ kind: 'tag', key: 'eks-hybrid-routes/managed', value: 'true' });
    expect(tables.map((table) => table.routeTableId)).toEqual([RTB_A, RTB_C]);
    expect(tables.every((table) => table.vpcId === VPC)).toBe(true);
  });

  // AWS: Amazon EC2 API Reference, DescribeNetworkInterfaces — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('findNetworkInterfaces with more than 199 addresses: batches of 199 (+ vpc-id) and every match found', async () => {
    const enis = addEnis(450, (n) => `10.20.${100 + Math.floor(n / 200)}.${(n % 200) + 1}`);
    const v6: LocalNetworkInterface = {
      id: 'eni-000000000000c0001',
      vpcId: VPC,
      subnetId: 'subnet-0a1b2c3d4e5f60101',
      privateIp: '10.20.110.1',
      ipv6Addresses: ['2001:db8::7'],
      sourceDestCheck: true,
      tags: {},
    };
    cloud.state.networkInterfaces.set(v6.id, v6);
    const ips = [...enis.map((eni) => eni.privateIp), '10.20.1.10', '10.20.99.99', '2001:db8::7'];
    const found = await adapter.findNetworkInterfaces(VPC, ips);
    expect(found).toHaveLength(452);
    expect(found.find((eni) => eni.networkInterfaceId === ENI_1)).toEqual({
      networkInterfaceId: ENI_1,
      vpcId: VPC,
      privateIpAddresses: ['10.20.1.10'],
      ipv6Addresses: [],
      sourceDestCheck: true,
      instanceId: I_1,
      // attachment.attachTime, as the local EC2 writes it (the scenario's launch, whole seconds), through the SDK's parser.
      attachTime: cloud.state.networkInterfaces.get(ENI_1)!.attachTime!.toISOString(),
      status: 'in-use',
    });
    expect(found.find((eni) => eni.networkInterfaceId === ENI_1)!.attachTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(found.find((eni) => eni.networkInterfaceId === v6.id)?.ipv6Addresses).toEqual(['2001:db8::7']);
    const describes = cloud.state.calls.filter((c) => c.action === 'DescribeNetworkInterfaces');
    expect(describes).toHaveLength(4); // 452 IPv4 addresses in batches of 199, plus one IPv6 batch
    expect(describes.every((c) => c.status === 200)).toBe(true);
  });

  // AWS: Amazon EC2 API Reference, CreateRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html
  // AWS: Amazon EC2 API Reference, ReplaceRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRoute.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('createRoute: created, then RouteAlreadyExists → DescribeRouteTables → ReplaceRoute → replaced', async () => {
    expect(await adapter.createRoute(RTB_A, '10.30.0.0/24', ENI_1)).toBe('created');
    expect(await adapter.createRoute(RTB_A, '10.30.0.0/24', ENI_2)).toBe('replaced');
    expect(cloud.state.routeTables.get(RTB_A)!.routes.find((r) => r.destination === '10.30.0.0/24')!.target).toEqual({ kind: 'networkInterface', id: ENI_2 });
    expect(cloud.state.calls.map((c) => `${c.action} ${c.status}${c.error ? ` ${c.error}` : ''}`)).toEqual([
      'CreateRoute 200',
      'CreateRoute 400 RouteAlreadyExists',
      // The adapter looks before it takes the destination over (only a route to an ENI/instance is replaced).
      'DescribeRouteTables 200',
      'ReplaceRoute 200',
    ]);
  });

  // AWS: Amazon EC2 API Reference, ReplaceRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRoute.html
  test('replaceRoute of an existing route', async () => {
    expect(await adapter.replaceRoute(RTB_A, '10.10.0.0/16', ENI_1)).toBe('replaced');
    expect(cloud.state.routeTables.get(RTB_A)!.routes.find((r) => r.destination === '10.10.0.0/16')!.target).toEqual({ kind: 'networkInterface', id: ENI_1 });
  });

  // AWS: Amazon EC2 API Reference, DeleteRoute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRoute.html
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('deleteRoute: deleted, then already-gone', async () => {
    await adapter.createRoute(RTB_C, '10.30.2.0/24', ENI_1);
    expect(await adapter.deleteRoute(RTB_C, '10.30.2.0/24')).toBe('deleted');
    expect(await adapter.deleteRoute(RTB_C, '10.30.2.0/24')).toBe('already-gone');
  });

  // AWS: Amazon EC2 API Reference, ModifyNetworkInterfaceAttribute — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html
  test('disableSourceDestCheck', async () => {
    await adapter.disableSourceDestCheck(ENI_2);
    expect(cloud.state.networkInterfaces.get(ENI_2)!.sourceDestCheck).toBe(false);
  });
});
