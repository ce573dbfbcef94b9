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
    ['unknown agent kind', { ...minimal, managedInstances: [{ id: 'mi-0a1b2c3d4e5f60718', ipAddress: '10.20.1.1', agent: 'sleepy' }] }, /managedInstances\[0\]\.agent/],
    ['ENI tags that are not strings', { ...minimal, instances: [{ id: 'i-0a1b2c3d4e5f60001', subnetId: 'subnet-0a1b2c3d4e5f60001', privateIp: '10.20.1.10', networkInterfaceId: 'eni-0a1b2c3d4e5f60001', networkInterfaceTags: { a: 1 } }] }, /instances\[0\]\.networkInterfaceTags\.a/],
    ['a pod that is not a v1 Pod', { ...minimal, pods: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'x' } }] }, /pods\[0\]\.kind/],
    ['a pod without a name', { ...minimal, pods: [{ apiVersion: 'v1', kind: 'Pod', metadata: {} }] }, /pods\[0\]\.metadata\.name/],
    ['evictionBlocked not a boolean', { ...minimal, pods: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, evictionBlocked: 'yes' }] }, /pods\[0\]\.evictionBlocked/],
    ['a rule without pattern or schedule', { ...minimal, rules: [{ name: 'r1' }] }, /rules\[0\].*eventPattern or a scheduleExpression/],
    ['a rule name with a space', { ...minimal, rules: [{ name: 'my rule', scheduleExpression: 'rate(5 minutes)' }] }, /rules\[0\]\.name/],
    ['a bad schedule expression', { ...minimal, rules: [{ name: 'r1', scheduleExpression: 'every 5 minutes' }] }, /rules\[0\]\.scheduleExpression/],
    ['an event pattern that is not JSON', { ...minimal, rules: [{ name: 'r1', eventPattern: '{source:' }] }, /rules\[0\]\.eventPattern: must be a JSON object/],
    ['a rule state other than ENABLED/DISABLED', { ...minimal, rules: [{ name: 'r1', state: 'PAUSED', scheduleExpression: 'rate(1 hour)' }] }, /rules\[0\]\.state/],
  ])('%s is refused with the field named', (_name, input, message) => {
    expect(() => parseScenario(input)).toThrow(ScenarioError);
    expect(() => parseScenario(input)).toThrow(message);
  });

  test('the default scenario: a Node per CiliumNode, as a hybrid node registers it', () => {
    const state = buildState(defaultScenario());
    expect([...state.nodes.keys()]).toEqual([...state.ciliumNodes.keys()]);
    const node = state.nodes.get('mi-026d6a261e355fba7') as any;
    expect(node).toEqual({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: 'mi-026d6a261e355fba7',
        uid: '3f0c0000-0000-4000-8000-000000000001', // what the CiliumNode's owner reference names
        labels: { 'eks.amazonaws.com/compute-type': 'hybrid', 'kubernetes.io/hostname': 'mi-026d6a261e355fba7', 'kubernetes.io/os': 'linux' },
      },
      spec: { providerID: 'eks-hybrid:///us-west-2/ekscluster1/mi-026d6a261e355fba7' },
      status: { addresses: [{ type: 'InternalIP', address: '10.20.1.10' }, { type: 'Hostname', address: 'mi-026d6a261e355fba7' }] },
    });
    for (const n of state.nodes.values() as Iterable<any>) expect(n.spec.unschedulable).toBeUndefined();
  });

  test('the default scenario: a cilium and a kube-proxy DaemonSet pod on every node, ReplicaSet pods on the third', () => {
    const state = buildState(defaultScenario());
    const pods = [...state.pods!.values()] as any[];
    const on = (node: string) => pods.filter((p) => p.spec.nodeName === node);
    const controller = (p: any) => p.metadata.ownerReferences.find((ref: any) => ref.controller === true);
    for (const node of state.nodes.keys()) {
      const daemonSets = on(node).filter((p) => controller(p)?.kind === 'DaemonSet').map((p) => controller(p).name);
      expect(daemonSets.sort()).toEqual(['cilium', 'kube-proxy']);
    }
    expect(on('mi-0c4d5e6f7a8b90a23').filter((p) => controller(p)?.kind === 'ReplicaSet').map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([
      'kube-system/coredns-5b9dfbf96c-h6kqv',
      'default/web-7c9d8b6f5-q2x7m',
    ]);
    expect(pods.every((p) => state.nodes.has(p.spec.nodeName) && p.status.phase === 'Running')).toBe(true);
    expect([...state.pods!.keys()].every((key) => /^[a-z-]+\/[a-z0-9-]+$/.test(key))).toBe(true);
    expect(state.blockedEvictions!.size).toBe(0);
  });

  test('the default scenario: the reconciler rules, ENABLED, and the activation tagged with the cluster ARN', () => {
    const state = buildState(defaultScenario());
    expect([...state.rules.values()].map((r) => [r.name, r.state, r.scheduleExpression ?? 'pattern'])).toEqual([
      ['eks-hybrid-routes-ec2-state-change', 'ENABLED', 'pattern'],
      ['eks-hybrid-routes-ssm-registration', 'ENABLED', 'pattern'],
      ['eks-hybrid-routes-schedule', 'ENABLED', 'rate(5 minutes)'],
    ]);
    expect(JSON.parse(state.rules.get('eks-hybrid-routes-ssm-registration')!.eventPattern!)).toMatchObject({ source: ['aws.ssm'] });
    expect([...state.activations.values()].map((a) => a.tags)).toEqual([{ EKSClusterARN: state.cluster.arn }]);
    expect([...state.managedInstances.values()].every((mi) => mi.agent === 'responsive' && mi.pingStatus === 'Online')).toBe(true);
  });

  test('pods: namespace defaults to default, evictionBlocked becomes a blocked eviction and leaves the object; duplicates are refused', () => {
    const pod = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'db' } }, spec: { nodeName: 'n1' }, ...extra });
    const state = buildState(parseScenario({ ...minimal, pods: [pod('db-0', { evictionBlocked: true }), pod('db-1', { evictionBlocked: false })] }));
    expect([...state.pods!.keys()]).toEqual(['default/db-0', 'default/db-1']);
    expect(state.pods!.get('default/db-0')).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-0', namespace: 'default', labels: { app: 'db' } }, spec: { nodeName: 'n1' } });
    expect([...state.blockedEvictions!.entries()]).toEqual([['default/db-0', 'db']]);
    expect(() => buildState(parseScenario({ ...minimal, pods: [pod('db-0'), pod('db-0')] }))).toThrow(/pods\[1\]\.metadata\.name: duplicate pod default\/db-0/);
  });

  test('rules: state defaults to ENABLED; an object event pattern is kept as JSON text', () => {
    const state = buildState(parseScenario({ ...minimal, rules: [{ name: 'r.1_x', eventPattern: { source: ['aws.ec2'] }, description: 'd' }, { name: 'r2', state: 'DISABLED', scheduleExpression: 'cron(0 12 * * ? *)', eventPattern: '{"source":["aws.ssm"]}' }] }));
    expect([...state.rules.values()]).toEqual([
      { name: 'r.1_x', state: 'ENABLED', eventPattern: '{"source":["aws.ec2"]}', description: 'd' },
      { name: 'r2', state: 'DISABLED', eventPattern: '{"source":["aws.ssm"]}', scheduleExpression: 'cron(0 12 * * ? *)' },
    ]);
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
