import { readFileSync } from 'node:fs';
import { ScenarioError, buildState, defaultScenario, parseScenario, scenarioJsonSchema } from '../../localcloud/scenario.js';
import { routeState } from '../../localcloud/state.js';

const minimal = {
  cluster: { name: 'lab', remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: ['10.30.0.0/16'] },
  vpcs: [{ id: 'vpc-0a1b2c3d4e5f60718', cidr: '10.20.0.0/16' }],
};

describe('scenario files', () => {
  test('the committed JSON Schema is the one generated from the zod schema (npm run -s localcloud:schema)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../localcloud/scenario.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });

  test('the default scenario mirrors the seed lab', () => {
    const state = buildState(defaultScenario());
    expect(state.cluster).toMatchObject({ name: 'ekscluster1', remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: ['10.30.0.0/16'] });
    expect([...state.vpcs.values()].map((vpc) => vpc.cidr).sort()).toEqual(['10.10.0.0/16', '10.20.0.0/16']);
    const tables = [...state.routeTables.values()];
    expect(tables).toHaveLength(3);
    for (const table of tables) {
      expect(table.routes.map((route) => [route.destination, route.target.kind, route.origin])).toEqual([
        ['10.20.0.0/16', 'local', 'CreateRouteTable'],
        ['10.10.0.0/16', 'transitGateway', 'CreateRoute'],
      ]);
    }
    expect([...state.ciliumNodes.keys()].every((name) => /^mi-[0-9a-f]{17}$/.test(name))).toBe(true);
    expect([...state.ciliumNodes.values()].map((node: any) => node.spec.ipam.podCIDRs[0])).toEqual(['10.30.0.0/24', '10.30.1.0/24', '10.30.2.0/24']);
    expect([...state.networkInterfaces.values()].every((eni) => eni.sourceDestCheck && eni.instanceId)).toBe(true);
    expect(state.quotas.routesPerRouteTable).toBe(50);
  });

  test.each([
    ['cluster missing', {}, /cluster/],
    ['bad pod network', { ...minimal, cluster: { ...minimal.cluster, remotePodNetworks: ['10.30.0.0'] } }, /cluster\.remotePodNetworks\[0\]/],
    ['bad route table id', { ...minimal, routeTables: [{ id: 'rt-1', vpcId: 'vpc-0a1b2c3d4e5f60718' }] }, /routeTables\[0\]\.id/],
    ['route with two targets', { ...minimal, routeTables: [{ id: 'rtb-0a1b2c3d4e5f60101', vpcId: 'vpc-0a1b2c3d4e5f60718', routes: [{ destination: '10.10.0.0/16', transitGatewayId: 'tgw-0a1b2c3d4e5f60718', gatewayId: 'igw-1' }] }] }, /routeTables\[0\]\.routes\[0\].*exactly one target/],
    ['unknown field', { ...minimal, extra: 1 }, /extra|Unrecognized/],
    ['quota out of range', { ...minimal, quotas: { routesPerRouteTable: 5000 } }, /quotas\.routesPerRouteTable/],
    ['bad managed instance id', { ...minimal, managedInstances: [{ id: 'mi-1', ipAddress: '10.20.1.1' }] }, /managedInstances\[0\]\.id/],
  ])('%s is refused with the field named', (_name, input, message) => {
    expect(() => parseScenario(input)).toThrow(ScenarioError);
    expect(() => parseScenario(input)).toThrow(message);
  });

  test('references are checked: a route table in an unknown VPC is refused', () => {
    const scenario = parseScenario({ ...minimal, routeTables: [{ id: 'rtb-0a1b2c3d4e5f60101', vpcId: 'vpc-0ffffffffffffffff' }] });
    expect(() => buildState(scenario)).toThrow(/routeTables\[0\]\.vpcId: unknown VPC/);
  });

  test('a route to an ENI turns blackhole when its instance stops, and active when it runs again', () => {
    const state = buildState(defaultScenario());
    const instance = [...state.instances.values()][0]!;
    const route = { destination: '10.30.0.0/24', family: 'ipv4' as const, origin: 'CreateRoute' as const, target: { kind: 'networkInterface' as const, id: instance.networkInterfaceId } };
    expect(routeState(state, route)).toBe('active');
    instance.state = 'stopped';
    expect(routeState(state, route)).toBe('blackhole');
    instance.state = 'running';
    state.networkInterfaces.delete(instance.networkInterfaceId);
    expect(routeState(state, route)).toBe('blackhole');
  });
});
