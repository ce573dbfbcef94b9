/**
 * The operator CLI, driven through runCli with captured output and the port fakes: the `--json` contract,
 * the readable tables, exit codes (0 done, 1 error, 2 bad usage/config, 3 vetoed), environment defaults,
 * `status`, and `token` (an ExecCredential exactly as `aws eks get-token` prints it).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../../functions/adapters/aws-clients.js';
import { TOKEN_PREFIX } from '../../../functions/adapters/token.js';
import { validateEksToken, verifyEksTokenSignature } from '../../localcloud/token-rules.js';
import { type CliIo, EXIT, runCli } from '../../../functions/cli/main.js';
import type { ClusterAccessConfig, ControllerConfig } from '../../../functions/core/config.js';
import { ConfigError } from '../../../functions/core/errors.js';
import type { TokenPort } from '../../../functions/core/ports.js';
import type { CiliumNodeRecord } from '../../../functions/core/types.js';
import { type ControllerDeps, createTokenProvider } from '../../../functions/service/dependencies.js';
import { REMOTE_VPC, ciliumNode, eni, eniId, factsNode, foreignRoutes, nodeName, route, table } from '../../support/builders.js';
import {
  type FakeRouteTable,
  FakeTokenPort,
  type FakeWorld,
  LAB_CLUSTER,
  LAB_ENI,
  LAB_NODE,
  LAB_NODE_IP,
  LAB_POD_CIDR,
  LAB_ROUTE_TABLE,
  type PortCall,
  fakeWorld,
} from '../../support/fakes.js';

type Json = Record<string, any>;

const T1 = LAB_ROUTE_TABLE;
const T2 = 'rtb-0a1b2c3d4e5f60002';
const NODE_B = nodeName(2);
const ENI_B = eniId(2);
const NODE_B_CIDR = '10.30.1.0/24';
const PENDING_NODE = nodeName(3);
const ENI_C = eniId(3);
const REFUSED_NODE = nodeName(4);
const UNRESOLVED_NODE = nodeName(5);
const WRONG_ENI = eniId(0x99);
const STALE_ENI = eniId(0x98);
const STALE_CIDR = '10.30.9.0/24';
const TARGET = ['--cluster', LAB_CLUSTER, '--route-table-ids', `${T1},${T2}`];

/**
 * Five nodes in every state: the lab node (route in T1 points at a wrong ENI, source/dest check on), node B
 * (route missing from T1), a pending node (no pod CIDR yet), a refused node (IP outside the node networks)
 * and an unresolved one (no ENI carries its IP). T1 also holds a stale route; T2 is right.
 */
function driftWorld(): FakeWorld {
  const nodes: CiliumNodeRecord[] = [
    factsNode(),
    ciliumNode(NODE_B, '10.20.1.11', [NODE_B_CIDR]),
    ciliumNode(PENDING_NODE, '10.20.1.12', []),
    ciliumNode(REFUSED_NODE, '10.99.0.1', ['10.30.4.0/24']),
    ciliumNode(UNRESOLVED_NODE, '10.20.1.14', ['10.30.5.0/24']),
  ];
  const tables: FakeRouteTable[] = [
    table(T1, [...foreignRoutes(), route.managed(LAB_POD_CIDR, WRONG_ENI), route.managed(STALE_CIDR, STALE_ENI)]),
    table(T2, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI), route.managed(NODE_B_CIDR, ENI_B)]),
  ];
  const interfaces = [eni(LAB_ENI, LAB_NODE_IP, { sourceDestCheck: true }), eni(ENI_B, '10.20.1.11'), eni(ENI_C, '10.20.1.12')];
  return fakeWorld({ nodes, tables, interfaces });
}

/** The lab node's route is missing, and 6 stale routes (of 6 managed) exceed the budget of max(3, 50 % × 6). */
function manyStaleWorld(): FakeWorld {
  const stale = [1, 2, 3, 4, 5, 6].map((i) => route.managed(`10.30.${10 + i}.0/24`, STALE_ENI));
  return fakeWorld({ tables: [table(T1, [...foreignRoutes(), ...stale])] });
}

/** No CiliumNode at all, while T1 holds two managed routes. */
function emptyListWorld(): FakeWorld {
  return fakeWorld({ nodes: [], tables: [table(T1, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI), route.managed(NODE_B_CIDR, ENI_B)])] });
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** How many times the CLI wrote to stdout. */
  writes: number;
  createDeps: jest.Mock<(config: ControllerConfig) => Promise<ControllerDeps>>;
  createTokens: jest.Mock<(access: ClusterAccessConfig) => Promise<TokenPort>>;
  json(): Json;
}

async function cli(
  argv: string[],
  options: { world?: FakeWorld; env?: Record<string, string | undefined>; tokens?: (access: ClusterAccessConfig) => Promise<TokenPort>; deps?: (config: ControllerConfig) => Promise<ControllerDeps> } = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const world = options.world ?? fakeWorld();
  const createDeps = jest.fn<(config: ControllerConfig) => Promise<ControllerDeps>>(options.deps ?? (async () => world.deps));
  const createTokens = jest.fn<(access: ClusterAccessConfig) => Promise<TokenPort>>(options.tokens ?? (async () => new FakeTokenPort()));
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env: options.env ?? {},
    createDeps,
    createTokens,
  };
  const code = await runCli(argv, io);
  return {
    code,
    stdout: out.join(''),
    stderr: err.join(''),
    writes: out.length,
    createDeps,
    createTokens,
    json() {
      expect(out).toHaveLength(1);
      const parsed: unknown = JSON.parse(out[0]!);
      expect(parsed).toEqual(expect.any(Object));
      expect(Array.isArray(parsed)).toBe(false);
      return parsed as Json;
    },
  };
}

const callLine = (call: PortCall) => `${call.method} ${call.args.join(' ')}`;
const mutationLines = (world: FakeWorld) => world.ec2.mutations().map(callLine);

/** The rows of the table printed under `Route table <id>`: header first, up to the blank line. */
function tableSection(text: string, routeTableId: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`Route table ${routeTableId}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => line.trim() === '');
  return end < 0 ? rest : rest.slice(0, end);
}
const ROUTE_HEADER = /^DESTINATION\s+CURRENT TARGET\s+ACTION\s+NEW TARGET\s+REASON$/;
const row = (...cells: string[]) => new RegExp(`^${cells.map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('\\s+')}`);

describe('plan', () => {
  test('--json: exit 0, one JSON object with the planned actions, source/dest fixes, refused, unresolved and pending; no mutation', async () => {
    const world = driftWorld();
    const run = await cli(['plan', ...TARGET, '--json'], { world });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).toBe('');
    const out = run.json();
    expect(out).toMatchObject({ mode: 'plan', status: 'ok', cluster: LAB_CLUSTER, vpcId: REMOTE_VPC, routeTableIds: [T1, T2] });
    expect(out).not.toHaveProperty('outcome');

    const changes = (out.actions as Json[]).filter((a) => a.action !== 'keep');
    expect(changes).toEqual([
      {
        routeTableId: T1,
        destination: LAB_POD_CIDR,
        action: 'replace',
        target: LAB_ENI,
        previousTarget: WRONG_ENI,
        reason: expect.stringContaining('wrong target'),
        node: LAB_NODE,
      },
      { routeTableId: T1, destination: NODE_B_CIDR, action: 'create', target: ENI_B, reason: expect.stringContaining('missing'), node: NODE_B },
      { routeTableId: T1, destination: STALE_CIDR, action: 'delete', previousTarget: STALE_ENI, reason: expect.stringContaining('stale') },
    ]);
    const kept = (out.actions as Json[]).filter((a) => a.action === 'keep');
    expect(kept.map((a) => `${a.routeTableId} ${a.destination} ${a.target}`)).toEqual([`${T2} ${LAB_POD_CIDR} ${LAB_ENI}`, `${T2} ${NODE_B_CIDR} ${ENI_B}`]);
    for (const action of out.actions as Json[]) expect(typeof action.reason).toBe('string');

    expect(out.sourceDestCheck).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ networkInterfaceId: LAB_ENI, action: 'disable' }),
        expect.objectContaining({ networkInterfaceId: ENI_B, action: 'keep' }),
        expect.objectContaining({ networkInterfaceId: ENI_C, action: 'keep' }),
      ]),
    );
    expect(out.sourceDestCheck).toHaveLength(3);
    expect(out.refused).toEqual([expect.objectContaining({ node: REFUSED_NODE, kind: 'node-ip-out-of-scope', value: '10.99.0.1' })]);
    expect(out.unresolved).toEqual([expect.objectContaining({ node: UNRESOLVED_NODE, ip: '10.20.1.14', cidrs: ['10.30.5.0/24'] })]);
    expect(out.pending).toEqual([{ node: PENDING_NODE, ip: '10.20.1.12' }]);
    expect(out.vetoed).toEqual([]);
    expect(out.counts).toMatchObject({ create: 1, replace: 1, delete: 1, keep: 2, vetoed: 0, sourceDestCheckFixes: 1 });

    expect(world.ec2.mutations()).toEqual([]);
    expect(run.createDeps).toHaveBeenCalledTimes(1);
    expect(run.createDeps.mock.calls[0]![0]).toMatchObject({ clusterName: LAB_CLUSTER, routeTables: { kind: 'ids', routeTableIds: [T1, T2] } });
  });

  test('human output: one table per route table (destination, current target, action, new target, reason), then the node lists', async () => {
    const world = driftWorld();
    const run = await cli(['plan', ...TARGET], { world });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).toBe('');
    expect(() => JSON.parse(run.stdout)).toThrow();

    const t1 = tableSection(run.stdout, T1);
    expect(t1[0]).toMatch(ROUTE_HEADER);
    expect(t1.slice(1)).toHaveLength(3);
    expect(t1.slice(1)).toEqual([
      expect.stringMatching(row(LAB_POD_CIDR, WRONG_ENI, 'replace', LAB_ENI, 'wrong target')),
      expect.stringMatching(row(NODE_B_CIDR, '-', 'create', ENI_B, 'missing')),
      expect.stringMatching(row(STALE_CIDR, STALE_ENI, 'delete', '-', 'stale')),
    ]);
    const t2 = tableSection(run.stdout, T2);
    expect(t2[0]).toMatch(ROUTE_HEADER);
    expect(t2.slice(1)).toEqual([
      expect.stringMatching(row(LAB_POD_CIDR, LAB_ENI, 'keep', LAB_ENI, 'in place')),
      expect.stringMatching(row(NODE_B_CIDR, ENI_B, 'keep', ENI_B, 'in place')),
    ]);
    for (const name of [REFUSED_NODE, UNRESOLVED_NODE, PENDING_NODE, LAB_ENI]) expect(run.stdout).toContain(name);
    expect(world.ec2.mutations()).toEqual([]);
  });

  test('never mutates, whatever the guard options', async () => {
    const world = manyStaleWorld();
    const run = await cli(['plan', '--cluster', LAB_CLUSTER, '--route-table-ids', T1, '--force', '--allow-empty', '--max-delete-fraction', '1', '--json'], { world });
    expect(run.code).toBe(EXIT.ok);
    expect(run.json().counts).toMatchObject({ create: 1, delete: 6, sourceDestCheckFixes: 1 });
    expect(world.ec2.mutations()).toEqual([]);
  });
});

describe('apply', () => {
  test('--json: makes exactly the planned calls, exit 0, and reports the outcome', async () => {
    const planned = (await cli(['plan', ...TARGET, '--json'], { world: driftWorld() })).json();
    const world = driftWorld();
    const run = await cli(['apply', ...TARGET, '--json'], { world });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).toBe('');
    const out = run.json();
    expect(out).toMatchObject({ mode: 'apply', status: 'ok' });
    expect(out.actions).toEqual(planned.actions);
    expect(out.outcome).toEqual({ created: 1, replaced: 1, deleted: 1, sourceDestCheckDisabled: 1, failed: [], notStarted: 0 });

    const expected = [
      ...(planned.sourceDestCheck as Json[]).filter((f) => f.action === 'disable').map((f) => `disableSourceDestCheck ${f.networkInterfaceId}`),
      ...(planned.actions as Json[])
        .filter((a) => a.action !== 'keep')
        .map((a) =>
          a.action === 'delete'
            ? `deleteRoute ${a.routeTableId} ${a.destination}`
            : `${a.action === 'create' ? 'createRoute' : 'replaceRoute'} ${a.routeTableId} ${a.destination} ${a.target}`,
        ),
    ];
    expect(mutationLines(world).sort()).toEqual(expected.sort());
    expect(mutationLines(world)).toHaveLength(4);

    // Converged: a second apply changes nothing.
    const again = await cli(['apply', ...TARGET, '--json'], { world });
    expect(again.code).toBe(EXIT.ok);
    expect(again.json().outcome).toEqual({ created: 0, replaced: 0, deleted: 0, sourceDestCheckDisabled: 0, failed: [], notStarted: 0 });
    expect(mutationLines(world)).toHaveLength(4);
  });

  test('human output: the same tables, and what was done', async () => {
    const world = driftWorld();
    const run = await cli(['apply', ...TARGET], { world });
    expect(run.code).toBe(EXIT.ok);
    expect(tableSection(run.stdout, T1)[0]).toMatch(ROUTE_HEADER);
    expect(tableSection(run.stdout, T1).slice(1)).toHaveLength(3);
    expect(run.stdout).toMatch(/1 created, 1 replaced, 1 deleted, 1 source\/dest checks? off, 0 failed/);
  });

  test('a failed mutation: exit 1, the failure reported, every other mutation still made', async () => {
    const world = driftWorld();
    world.ec2.failures.createRoute = Object.assign(new Error('The maximum number of routes has been reached.'), { name: 'RouteLimitExceeded' });
    const run = await cli(['apply', ...TARGET, '--json'], { world });
    expect(run.code).toBe(EXIT.error);
    const out = run.json();
    expect(out.status).toBe('failed');
    expect(out.outcome).toMatchObject({ created: 0, replaced: 1, deleted: 1, sourceDestCheckDisabled: 1 });
    expect(out.outcome.failed).toEqual([
      expect.objectContaining({ kind: 'create', routeTableId: T1, destination: NODE_B_CIDR, code: 'RouteLimitExceeded', error: expect.stringContaining('maximum number of routes') }),
    ]);
    expect(mutationLines(world).sort()).toEqual(
      [
        `disableSourceDestCheck ${LAB_ENI}`,
        `replaceRoute ${T1} ${LAB_POD_CIDR} ${LAB_ENI}`,
        `createRoute ${T1} ${NODE_B_CIDR} ${ENI_B}`,
        `deleteRoute ${T1} ${STALE_CIDR}`,
      ].sort(),
    );

    const human = await cli(['apply', ...TARGET], { world: (() => {
      const w = driftWorld();
      w.ec2.failures.deleteRoute = Object.assign(new Error('You are not authorized'), { name: 'UnauthorizedOperation' });
      return w;
    })() });
    expect(human.code).toBe(EXIT.error);
    expect(human.stdout).toMatch(new RegExp(`failed delete ${T1} ${STALE_CIDR.replace(/[./]/g, '\\$&')}.*UnauthorizedOperation`));
  });
});

describe('held-back deletions', () => {
  test('a deletion that makes way for a failed create is held back: exit 1, listed in the JSON and the human summary', async () => {
    const covering = '10.30.0.0/23'; // covers NODE_B_CIDR, which is being created in T1
    const heldBackWorld = () => {
      const world = driftWorld();
      world.ec2.tables.find((candidate) => candidate.routeTableId === T1)!.routes.push(route.managed(covering, STALE_ENI));
      world.ec2.failures.createRoute = Object.assign(new Error('The maximum number of routes has been reached.'), { name: 'RouteLimitExceeded' });
      return world;
    };
    const reason = `kept: the create of ${NODE_B_CIDR} it makes way for failed`;

    const world = heldBackWorld();
    const run = await cli(['apply', ...TARGET, '--json'], { world });
    expect(run.code).toBe(EXIT.error);
    expect(run.json().outcome.heldBack).toEqual([{ routeTableId: T1, destination: covering, reason }]);
    expect(mutationLines(world)).not.toContain(`deleteRoute ${T1} ${covering}`);
    expect(mutationLines(world)).toContain(`deleteRoute ${T1} ${STALE_CIDR}`);

    const human = await cli(['apply', ...TARGET], { world: heldBackWorld() });
    expect(human.code).toBe(EXIT.error);
    expect(human.stdout).toContain(`\n  not deleted ${T1} ${covering}: ${reason}`);
  });
});

describe('deletion guards: exit 3 when something is vetoed', () => {
  const ONE_TABLE = ['--cluster', LAB_CLUSTER, '--route-table-ids', T1];

  test('too many stale routes: plan and apply exit 3, nothing deleted, vetoed listed; other changes still applied', async () => {
    const world = manyStaleWorld();
    const plan = await cli(['plan', ...ONE_TABLE, '--json'], { world });
    expect(plan.code).toBe(EXIT.vetoed);
    const planned = plan.json();
    expect(planned.status).toBe('vetoed');
    expect(planned.vetoed).toHaveLength(6);
    for (const v of planned.vetoed as Json[]) expect(v).toMatchObject({ routeTableId: T1, destination: expect.stringMatching(/^10\.30\.1\d\.0\/24$/), guard: 'deletion-budget', reason: expect.any(String) });
    expect((planned.actions as Json[]).filter((a) => a.action === 'delete')).toEqual([]);

    const apply = await cli(['apply', ...ONE_TABLE, '--json'], { world });
    expect(apply.code).toBe(EXIT.vetoed);
    expect(apply.json().vetoed).toHaveLength(6);
    expect(mutationLines(world)).toEqual([`disableSourceDestCheck ${LAB_ENI}`, `createRoute ${T1} ${LAB_POD_CIDR} ${LAB_ENI}`]);

    const human = await cli(['plan', ...ONE_TABLE], { world });
    expect(human.code).toBe(EXIT.vetoed);
    expect(human.stdout).toContain('deletion-budget');
  });

  test('--min-delete-budget never lets a run delete every active managed route: exit 3, nothing deleted', async () => {
    const world = manyStaleWorld();
    const plan = await cli(['plan', ...ONE_TABLE, '--min-delete-budget', '6', '--json'], { world });
    expect(plan.code).toBe(EXIT.vetoed);
    expect(plan.json()).toMatchObject({ counts: { delete: 0, vetoed: 6 } });
    expect(plan.json().vetoed[0].reason).toMatch(/every active managed route/);
    expect(mutationLines(world)).toEqual([]);
  });

  test.each([[['--force']], [['--max-delete-fraction', '1']]])('%j lifts the deletion budget: exit 0 and the stale routes are deleted', async (extra) => {
    const world = manyStaleWorld();
    const plan = await cli(['plan', ...ONE_TABLE, ...extra, '--json'], { world });
    expect(plan.code).toBe(EXIT.ok);
    expect(plan.json()).toMatchObject({ vetoed: [], counts: { delete: 6 } });
    const apply = await cli(['apply', ...ONE_TABLE, ...extra, '--json'], { world });
    expect(apply.code).toBe(EXIT.ok);
    expect(apply.json().outcome).toMatchObject({ deleted: 6, failed: [] });
    expect(world.ec2.mutations().filter((c) => c.method === 'deleteRoute')).toHaveLength(6);
  });

  test('an empty CiliumNode list: plan and apply exit 3 and delete nothing; --force does not lift it, --allow-empty does', async () => {
    const world = emptyListWorld();
    const plan = await cli(['plan', ...ONE_TABLE, '--json'], { world });
    expect(plan.code).toBe(EXIT.vetoed);
    expect(plan.json().vetoed).toEqual([
      expect.objectContaining({ routeTableId: T1, destination: LAB_POD_CIDR, guard: 'empty-node-list' }),
      expect.objectContaining({ routeTableId: T1, destination: NODE_B_CIDR, guard: 'empty-node-list' }),
    ]);
    for (const argv of [['apply', ...ONE_TABLE], ['apply', ...ONE_TABLE, '--force', '--json']]) {
      const run = await cli(argv, { world });
      expect(run.code).toBe(EXIT.vetoed);
    }
    expect(world.ec2.mutations()).toEqual([]);

    const allowed = await cli(['apply', ...ONE_TABLE, '--allow-empty', '--json'], { world });
    expect(allowed.code).toBe(EXIT.ok);
    expect(allowed.json()).toMatchObject({ vetoed: [], outcome: { deleted: 2, failed: [] } });
    expect(mutationLines(world).sort()).toEqual([`deleteRoute ${T1} ${LAB_POD_CIDR}`, `deleteRoute ${T1} ${NODE_B_CIDR}`].sort());
  });

  test('a failed mutation wins over a veto: exit 1', async () => {
    const world = manyStaleWorld();
    world.ec2.failures.createRoute = Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' });
    const run = await cli(['apply', ...ONE_TABLE, '--json'], { world });
    expect(run.code).toBe(EXIT.error);
    expect(run.json()).toMatchObject({ status: 'failed', vetoed: expect.arrayContaining([expect.objectContaining({ guard: 'deletion-budget' })]) });
  });
});

describe('bad usage or configuration: exit 2, the option named on stderr, nothing created or called', () => {
  const C = ['--cluster', LAB_CLUSTER];
  const R = ['--route-table-ids', T1];
  const cases: [string, string[], RegExp[]][] = [
    ['an unknown option', [...C, ...R, '--bogus'], [/--bogus/]],
    ['a missing --cluster', [...R], [/--cluster/, /required/]],
    ['an invalid --cluster', ['--cluster', 'bad!', ...R], [/--cluster/]],
    ['--cluster without its value', [...R, '--cluster'], [/--cluster/]],
    ['both --route-table-ids and --route-table-tag', [...C, ...R, '--route-table-tag', 'k=v'], [/--route-table-ids/, /--route-table-tag/]],
    ['neither --route-table-ids nor --route-table-tag', [...C], [/--route-table-ids/, /--route-table-tag/]],
    ['a malformed --route-table-ids entry', [...C, '--route-table-ids', `${T1},rtb-XYZ`], [/--route-table-ids/, /rtb-XYZ/]],
    ['a subnet id in --route-table-ids', [...C, '--route-table-ids', 'subnet-0123456789abcdef0'], [/--route-table-ids/]],
    ['an empty --route-table-ids list', [...C, '--route-table-ids', ','], [/--route-table-ids/]],
    ['a --route-table-tag without =', [...C, '--route-table-tag', 'managed'], [/--route-table-tag/]],
    ['--max-delete-fraction 2', [...C, ...R, '--max-delete-fraction', '2'], [/--max-delete-fraction/, /"2"/]],
    ['--max-delete-fraction abc', [...C, ...R, '--max-delete-fraction', 'abc'], [/--max-delete-fraction/, /"abc"/]],
    ['--max-delete-fraction 1e-1', [...C, ...R, '--max-delete-fraction', '1e-1'], [/--max-delete-fraction/]],
    ['--min-delete-budget -1', [...C, ...R, '--min-delete-budget', '-1'], [/--min-delete-budget/]],
    ['--concurrency 0', [...C, ...R, '--concurrency', '0'], [/--concurrency/]],
    ['a bad --reader-role-arn', [...C, ...R, '--reader-role-arn', 'arn:aws:iam::123:user/someone'], [/--reader-role-arn/]],
    ['a bad --pod-networks', [...C, ...R, '--pod-networks', '10.30.0.0/33'], [/--pod-networks/]],
    ['a non-CIDR --pod-networks entry', [...C, ...R, '--pod-networks', '10.30.0.0/16,banana'], [/--pod-networks/]],
    ['a bad --node-networks', [...C, ...R, '--node-networks', 'nodes'], [/--node-networks/]],
    ['a bad --vpc-id', [...C, ...R, '--vpc-id', 'vpc-XYZ'], [/--vpc-id/]],
    ['a bad --region', [...C, ...R, '--region', 'mars'], [/--region/]],
    ['an unexpected argument', [...C, ...R, 'extra'], [/extra/]],
  ];

  test.each(['plan', 'apply', 'status'].flatMap((command) => cases.map(([name, argv, patterns]) => [command, name, argv, patterns] as const)))(
    '%s with %s',
    async (command, _name, argv, patterns) => {
      const world = driftWorld();
      const run = await cli([command, ...argv], { world, env: {} });
      expect(run.code).toBe(EXIT.usage);
      for (const pattern of patterns) expect(run.stderr).toMatch(pattern);
      expect(run.stdout).toBe('');
      expect(run.createDeps).not.toHaveBeenCalled();
      expect(world.allCalls()).toEqual([]);
    },
  );

  test.each<[string, string[]]>([
    ['no command', []],
    ['an unknown command', ['frobnicate']],
  ])('%s → exit 2', async (_name, argv) => {
    const run = await cli(argv);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).not.toBe('');
    expect(run.createDeps).not.toHaveBeenCalled();
  });

  test("--pod-networks outside the cluster's networks (known only once the cluster is read) → exit 2 naming it, no EC2 call", async () => {
    const world = driftWorld();
    const run = await cli(['apply', ...TARGET, '--pod-networks', '10.40.0.0/24'], { world });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/--pod-networks\[0\]/);
    expect(run.stderr).toContain('10.40.0.0/24');
    expect(run.stdout).toBe('');
    expect(world.ec2.calls).toEqual([]);
  });

  test.each<[string, string[], Record<string, string>, RegExp]>([
    ['a bad ROUTE_TABLE_TAG from the environment names the variable', ['plan', '--cluster', 'lab'], { ROUTE_TABLE_TAG: 'no-equals-sign' }, /^error: ROUTE_TABLE_TAG \(environment\): must be key=value/],
    ['the same value given as the flag names the flag', ['plan', '--cluster', 'lab', '--route-table-tag', 'no-equals-sign'], {}, /^error: --route-table-tag: must be key=value/],
    ['a bad CLUSTER_NAME from the environment, for the token command', ['token'], { CLUSTER_NAME: '-lab', AWS_REGION: 'us-west-2' }, /^error: CLUSTER_NAME \(environment\): must be an EKS cluster name/],
  ])('%s → exit 2', async (_name, argv, env, message) => {
    const run = await cli(argv, { env });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(message);
    expect(run.createDeps).not.toHaveBeenCalled();
  });

  test('a configuration error raised while creating the clients (no Region) → exit 2 naming --region', async () => {
    const run = await cli(['plan', ...TARGET], {
      deps: async () => {
        throw new ConfigError('region', 'no AWS Region is configured (set AWS_REGION or pass the region)');
      },
    });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/^error: --region: no AWS Region is configured/);
  });
});

describe('read failures: exit 1, the reason on stderr, nothing printed on stdout, nothing mutated', () => {
  test.each<[string, RegExp, (world: FakeWorld) => void]>([
    ['the CiliumNode list fails', /ciliumnodes.*Service Unavailable/, (w) => (w.kubernetes.failure = () => new Error('HTTP 503 Service Unavailable'))],
    ['DescribeRouteTables fails', /route-tables.*RequestLimitExceeded/, (w) => (w.ec2.failures.describeRouteTables = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }))],
    ['DescribeNetworkInterfaces fails', /network-interfaces.*Rate exceeded/, (w) => (w.ec2.failures.findNetworkInterfaces = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }))],
    ['DescribeCluster fails', /cluster.*ResourceNotFoundException/, (w) => (w.cluster.failure = Object.assign(new Error('No cluster found'), { name: 'ResourceNotFoundException' }))],
    ['a named route table is missing', /route-tables.*rtb-0a1b2c3d4e5f60002/, (w) => (w.ec2.tables = w.ec2.tables.filter((t) => t.routeTableId !== T2))],
  ])('%s', async (_name, message, breakIt) => {
    for (const command of ['plan', 'apply', 'status']) {
      for (const json of [[], ['--json']]) {
        const world = driftWorld();
        breakIt(world);
        const run = await cli([command, ...TARGET, ...json], { world });
        expect(run.code).toBe(EXIT.error);
        expect(run.stderr).toMatch(/^error: /);
        expect(run.stderr).toMatch(message);
        expect(run.stdout).toBe('');
        expect(world.ec2.mutations()).toEqual([]);
      }
    }
  });

  test('a bearer token echoed by a failing Kubernetes client never reaches stderr (redacted, as the Lambda handler does)', async () => {
    const world = driftWorld();
    world.kubernetes.failure = (token) =>
      new Error(`request to https://api failed: {"headers":{"Authorization":"Bearer ${token}"},"url":"https://sts.amazonaws.com/?X-Amz-Signature=SECRET"}`);
    const run = await cli(['apply', ...TARGET], { world });
    expect(run.code).toBe(EXIT.error);
    expect(run.stderr).toMatch(/ciliumnodes/);
    expect(run.stderr + run.stdout).not.toContain('SECRET');
    expect(world.ec2.mutations()).toEqual([]);
  });
});

describe('environment defaults', () => {
  test('CLUSTER_NAME and ROUTE_TABLE_IDS from io.env are used when the options are absent', async () => {
    const world = driftWorld();
    const run = await cli(['plan', '--json'], { world, env: { CLUSTER_NAME: LAB_CLUSTER, ROUTE_TABLE_IDS: `${T1},${T2}` } });
    expect(run.code).toBe(EXIT.ok);
    expect(run.createDeps.mock.calls[0]![0]).toMatchObject({ clusterName: LAB_CLUSTER, routeTables: { kind: 'ids', routeTableIds: [T1, T2] } });
    expect(run.json()).toMatchObject({ cluster: LAB_CLUSTER, routeTableIds: [T1, T2] });
  });

  test('options win over the environment', async () => {
    const world = driftWorld();
    const env = { CLUSTER_NAME: 'other-cluster', ROUTE_TABLE_IDS: 'rtb-0000000000000000f', READER_ROLE_ARN: 'arn:aws:iam::111122223333:role/from-env' };
    const role = 'arn:aws:iam::111122223333:role/from-option';
    const run = await cli(['plan', ...TARGET, '--reader-role-arn', role, '--json'], { world, env });
    expect(run.code).toBe(EXIT.ok);
    expect(run.createDeps.mock.calls[0]![0]).toMatchObject({ clusterName: LAB_CLUSTER, readerRoleArn: role, routeTables: { kind: 'ids', routeTableIds: [T1, T2] } });
    expect(world.cluster.calls).toEqual([{ method: 'describeCluster', args: [LAB_CLUSTER] }]);
  });

  test('an option of the other selector kind wins over the environment instead of clashing with it', async () => {
    const byTag = await cli(['plan', '--cluster', LAB_CLUSTER, '--route-table-tag', 'team=net'], { env: { ROUTE_TABLE_IDS: T1 } });
    expect(byTag.createDeps.mock.calls[0]![0].routeTables).toEqual({ kind: 'tag', key: 'team', value: 'net' });
    const byIds = await cli(['plan', '--cluster', LAB_CLUSTER, '--route-table-ids', T1], { env: { ROUTE_TABLE_TAG: 'team=net' } });
    expect(byIds.createDeps.mock.calls[0]![0].routeTables).toEqual({ kind: 'ids', routeTableIds: [T1] });
  });

  test('ROUTE_TABLE_TAG, READER_ROLE_ARN and REMOTE_VPC_ID come from the environment too', async () => {
    const role = 'arn:aws:iam::111122223333:role/eks-hybrid-routes-reader';
    const run = await cli(['plan'], { env: { CLUSTER_NAME: LAB_CLUSTER, ROUTE_TABLE_TAG: 'team=net', READER_ROLE_ARN: role, REMOTE_VPC_ID: REMOTE_VPC } });
    expect(run.createDeps.mock.calls[0]![0]).toMatchObject({ clusterName: LAB_CLUSTER, readerRoleArn: role, vpcId: REMOTE_VPC, routeTables: { kind: 'tag', key: 'team', value: 'net' } });
  });

  test('an empty variable counts as absent, and a missing cluster is still bad usage', async () => {
    const run = await cli(['plan'], { env: { CLUSTER_NAME: '', ROUTE_TABLE_IDS: T1 } });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/--cluster/);
    expect(run.createDeps).not.toHaveBeenCalled();
  });
});

describe('status', () => {
  test('--json: exit 0, one row per node with name, ip, ENI, source/dest check, CIDRs and state; no mutation', async () => {
    const world = driftWorld();
    const run = await cli(['status', ...TARGET, '--json'], { world });
    expect(run.code).toBe(EXIT.ok);
    const out = run.json();
    expect(out).toMatchObject({ cluster: LAB_CLUSTER, vpcId: REMOTE_VPC, routeTableIds: [T1, T2] });
    const nodes = out.nodes as Json[];
    expect(nodes.map(({ name, ip, networkInterfaceId, sourceDestCheck, cidrs, state }) => ({ name, ip, networkInterfaceId, sourceDestCheck, cidrs, state }))).toEqual([
      { name: LAB_NODE, ip: LAB_NODE_IP, networkInterfaceId: LAB_ENI, sourceDestCheck: 'on', cidrs: [LAB_POD_CIDR], state: 'drift' },
      { name: NODE_B, ip: '10.20.1.11', networkInterfaceId: ENI_B, sourceDestCheck: 'off', cidrs: [NODE_B_CIDR], state: 'drift' },
      { name: PENDING_NODE, ip: '10.20.1.12', networkInterfaceId: ENI_C, sourceDestCheck: 'off', cidrs: [], state: 'pending' },
      { name: REFUSED_NODE, ip: '10.99.0.1', networkInterfaceId: null, sourceDestCheck: null, cidrs: ['10.30.4.0/24'], state: 'refused' },
      { name: UNRESOLVED_NODE, ip: '10.20.1.14', networkInterfaceId: null, sourceDestCheck: null, cidrs: ['10.30.5.0/24'], state: 'unresolved' },
    ]);
    expect(world.ec2.mutations()).toEqual([]);

    // After apply, the drifted nodes are routed.
    expect((await cli(['apply', ...TARGET], { world })).code).toBe(EXIT.ok);
    const after = (await cli(['status', ...TARGET, '--json'], { world })).json().nodes as Json[];
    expect(after.map((n) => [n.name, n.state, n.sourceDestCheck])).toEqual([
      [LAB_NODE, 'routed', 'off'],
      [NODE_B, 'routed', 'off'],
      [PENDING_NODE, 'pending', 'off'],
      [REFUSED_NODE, 'refused', null],
      [UNRESOLVED_NODE, 'unresolved', null],
    ]);
  });

  test('text: a header and one row per node with its state', async () => {
    const world = driftWorld();
    const run = await cli(['status', ...TARGET], { world });
    expect(run.code).toBe(EXIT.ok);
    const lines = run.stdout.split('\n');
    expect(lines.some((line) => /^NODE\s+IP\s+ENI\s+SRC\/DST CHECK\s+CIDRS\s+STATE\s+DETAIL$/.test(line))).toBe(true);
    const rowOf = (name: string) => lines.find((line) => line.startsWith(`${name} `));
    expect(rowOf(LAB_NODE)).toMatch(row(LAB_NODE, LAB_NODE_IP, LAB_ENI, 'on', LAB_POD_CIDR, 'drift'));
    expect(rowOf(NODE_B)).toMatch(row(NODE_B, '10.20.1.11', ENI_B, 'off', NODE_B_CIDR, 'drift'));
    expect(rowOf(PENDING_NODE)).toMatch(row(PENDING_NODE, '10.20.1.12', ENI_C, 'off', '-', 'pending'));
    expect(rowOf(REFUSED_NODE)).toMatch(row(REFUSED_NODE, '10.99.0.1', '-', '-', '10.30.4.0/24', 'refused'));
    expect(rowOf(UNRESOLVED_NODE)).toMatch(row(UNRESOLVED_NODE, '10.20.1.14', '-', '-', '10.30.5.0/24', 'unresolved'));
    expect(world.ec2.mutations()).toEqual([]);
  });

  test("nodes whose only pod CIDRs clash with each other are refused, not 'pending' (they do have CIDRs; plan.pending is empty)", async () => {
    const world = fakeWorld({
      nodes: [ciliumNode(NODE_B, '10.20.1.11', ['10.30.1.0/24']), ciliumNode(PENDING_NODE, '10.20.1.12', ['10.30.1.0/25'])],
      interfaces: [eni(ENI_B, '10.20.1.11'), eni(ENI_C, '10.20.1.12')],
    });
    const plan = (await cli(['plan', '--cluster', LAB_CLUSTER, '--route-table-ids', T1, '--json'], { world })).json();
    expect(plan.pending).toEqual([]);
    expect((plan.refused as Json[]).map((r) => [r.node, r.kind])).toEqual([
      [NODE_B, 'cidr-conflict'],
      [PENDING_NODE, 'cidr-conflict'],
    ]);
    const nodes = (await cli(['status', '--cluster', LAB_CLUSTER, '--route-table-ids', T1, '--json'], { world })).json().nodes as Json[];
    expect(nodes.map((n) => [n.name, n.state])).toEqual([
      [NODE_B, 'refused'],
      [PENDING_NODE, 'refused'],
    ]);
    for (const n of nodes) expect(n.detail).not.toMatch(/no pod CIDR allocated/);
  });
});

describe('protected routes', () => {
  // A stale CiliumNode, refused for a pod CIDR that cannot be read, on the lab node's address: every route to the
  // lab node's ENI is protected, including NODE_B's, which should point at ENI_B.
  const STALE_REFUSED = 'mi-0000000000000057a';
  const protectedWorld = () =>
    fakeWorld({
      nodes: [factsNode(), ciliumNode(STALE_REFUSED, LAB_NODE_IP, ['10.30.7.0/24x']), ciliumNode(NODE_B, '10.20.1.11', [NODE_B_CIDR])],
      tables: [table(T1, [...foreignRoutes(), route.managed(LAB_POD_CIDR, LAB_ENI), route.managed(NODE_B_CIDR, LAB_ENI)])],
      interfaces: [eni(LAB_ENI, LAB_NODE_IP), eni(ENI_B, '10.20.1.11')],
    });
  const ONE_TABLE = ['--cluster', LAB_CLUSTER, '--route-table-ids', T1];

  test('status: the node whose route is held on a protected ENI is not "routed"; the summary counts the protected routes', async () => {
    const world = protectedWorld();
    const nodes = (await cli(['status', ...ONE_TABLE, '--json'], { world })).json().nodes as Json[];
    const nodeB = nodes.find((entry) => entry.name === NODE_B)!;
    expect(nodeB.state).toBe('drift');
    expect(nodeB.detail).toContain(`${NODE_B_CIDR} in ${T1} still points at ${LAB_ENI}, protected: points at ${LAB_ENI}, the ENI of a refused node`);
    expect(nodes.find((entry) => entry.name === LAB_NODE)!.state).toBe('routed');

    const text = await cli(['status', ...ONE_TABLE], { world });
    expect(text.stdout).toContain('Protected: 1 route(s) kept as they are until the node named in "plan" is fixed.');
  });

  test('plan text lists them in their own section; apply leaves them as they are', async () => {
    const world = protectedWorld();
    const plan = await cli(['plan', ...ONE_TABLE], { world });
    const lines = plan.stdout.split('\n');
    const start = lines.findIndex((line) => line.startsWith('Protected routes (kept as they are: neither rewritten nor deleted)'));
    expect(start).toBeGreaterThan(-1);
    expect(lines.slice(start).find((line) => line.startsWith(T1))).toMatch(new RegExp(`^${T1}\\s+${NODE_B_CIDR.replace(/[./]/g, '\\$&')}\\s+${STALE_REFUSED}\\s+protected: points at ${LAB_ENI}`));

    expect((await cli(['apply', ...ONE_TABLE], { world })).code).toBe(EXIT.ok);
    expect(world.ec2.tables[0]!.routes).toContainEqual(route.managed(NODE_B_CIDR, LAB_ENI));
  });
});

describe('token', () => {
  const ISO_SECONDS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
  const stsMock = mockClient(STSClient);
  const ENDPOINT_ENV = ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS', 'AWS_USE_FIPS_ENDPOINT', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'];
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    stsMock.reset();
    for (const k of ENDPOINT_ENV) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
  });
  afterEach(() => {
    for (const k of ENDPOINT_ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  afterAll(() => stsMock.restore());

  const realTokens = (access: ClusterAccessConfig) => {
    const sts = new STSClient({ region: 'us-west-2', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' } });
    return Promise.resolve<TokenPort>(createTokenProvider({ sts } as unknown as AwsClients, 'us-west-2', access));
  };
  const decode = (token: string) => new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));

  test('prints exactly one ExecCredential (v1beta1) with the token and expiry in whole UTC seconds', async () => {
    const fake = new FakeTokenPort('k8s-aws-v1.dG9rZW4', () => Date.UTC(2030, 0, 1, 0, 0, 0, 789));
    const run = await cli(['token', '--cluster', LAB_CLUSTER], { tokens: async () => fake });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).toBe('');
    const cred = run.json();
    expect(cred).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: {},
      status: { expirationTimestamp: '2030-01-01T00:14:00Z', token: 'k8s-aws-v1.dG9rZW4' },
    });
    expect(Object.keys(cred)).toEqual(['kind', 'apiVersion', 'spec', 'status']);
    expect(Object.keys(cred.status)).toEqual(['expirationTimestamp', 'token']);
    expect(cred.status.expirationTimestamp).toMatch(ISO_SECONDS_Z);
    expect(fake.calls).toEqual([{ method: 'getToken', args: [LAB_CLUSTER] }]);
    expect(run.createTokens).toHaveBeenCalledWith({ clusterName: LAB_CLUSTER });
    expect(run.createDeps).not.toHaveBeenCalled();
  });

  test('passes --region and --reader-role-arn (or CLUSTER_NAME / READER_ROLE_ARN from the environment) to the token provider', async () => {
    const role = 'arn:aws:iam::111122223333:role/eks-hybrid-routes-reader';
    const withOptions = await cli(['token', '--cluster', LAB_CLUSTER, '--region', 'us-west-2', '--reader-role-arn', role]);
    expect(withOptions.code).toBe(EXIT.ok);
    expect(withOptions.createTokens).toHaveBeenCalledWith({ clusterName: LAB_CLUSTER, region: 'us-west-2', readerRoleArn: role });
    const fromEnv = await cli(['token'], { env: { CLUSTER_NAME: LAB_CLUSTER, READER_ROLE_ARN: role } });
    expect(fromEnv.code).toBe(EXIT.ok);
    expect(fromEnv.createTokens).toHaveBeenCalledWith({ clusterName: LAB_CLUSTER, readerRoleArn: role });
  });

  test('with the real EksTokenProvider: a k8s-aws-v1. token for the regional STS GetCallerIdentity, x-k8s-aws-id signed', async () => {
    const before = Date.now();
    const run = await cli(['token', '--cluster', LAB_CLUSTER], { tokens: realTokens });
    expect(run.code).toBe(EXIT.ok);
    const cred = run.json();
    expect(cred).toMatchObject({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1beta1', spec: {} });
    const { token, expirationTimestamp } = cred.status as { token: string; expirationTimestamp: string };
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    expect(token.slice(TOKEN_PREFIX.length)).toMatch(/^[A-Za-z0-9_-]+$/);
    const url = decode(token);
    expect(url.origin).toBe('https://sts.us-west-2.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('x-k8s-aws-id');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/us-west-2\/sts\/aws4_request$/);
    expect(validateEksToken(token, { region: 'us-west-2', now: new Date() })).toMatchObject({ ok: true });
    await expect(verifyEksTokenSignature(token, { clusterName: LAB_CLUSTER, secretAccessKey: 'secret-example' })).resolves.toBe(true);
    await expect(verifyEksTokenSignature(token, { clusterName: 'another-cluster', secretAccessKey: 'secret-example' })).resolves.toBe(false);
    // Expiry: signing time + 14 min, whole seconds, UTC 'Z'.
    expect(expirationTimestamp).toMatch(ISO_SECONDS_Z);
    const expiry = Date.parse(expirationTimestamp);
    expect(expiry).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 14 * 60_000);
    expect(expiry).toBeLessThanOrEqual(Date.now() + 14 * 60_000);
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
  });

  test('with the real EksTokenProvider and --reader-role-arn: signed with the assumed role credentials', async () => {
    const role = 'arn:aws:iam::111122223333:role/eks-hybrid-routes-reader';
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAASSUMEDEXAMPLE01', SecretAccessKey: 'assumed-secret', SessionToken: 'session-token-example', Expiration: new Date(Date.now() + 3_600_000) },
    });
    const run = await cli(['token', '--cluster', LAB_CLUSTER, '--reader-role-arn', role], { tokens: realTokens });
    expect(run.code).toBe(EXIT.ok);
    const { token } = run.json().status as { token: string };
    const q = decode(token).searchParams;
    expect(q.get('X-Amz-Credential')).toMatch(/^ASIAASSUMEDEXAMPLE01\//);
    expect(q.get('X-Amz-Security-Token')).toBe('session-token-example');
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: role });
    await expect(verifyEksTokenSignature(token, { clusterName: LAB_CLUSTER, secretAccessKey: 'assumed-secret' })).resolves.toBe(true);
  });

  test.each<[string, string[], RegExp]>([
    ['a missing --cluster', ['token'], /--cluster/],
    ['an invalid --cluster', ['token', '--cluster', 'bad!'], /--cluster/],
    ['a bad --reader-role-arn', ['token', '--cluster', LAB_CLUSTER, '--reader-role-arn', 'role/reader'], /--reader-role-arn/],
    ['a bad --region', ['token', '--cluster', LAB_CLUSTER, '--region', 'west'], /--region/],
    ['a reconcile-only option', ['token', '--cluster', LAB_CLUSTER, '--route-table-ids', T1], /--route-table-ids/],
  ])('%s → exit 2, nothing printed on stdout, no token provider made', async (_name, argv, message) => {
    const run = await cli(argv);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    expect(run.createTokens).not.toHaveBeenCalled();
  });

  test('a token provider failure → exit 1 with the reason on stderr, nothing on stdout', async () => {
    const failing: TokenPort = { getToken: async () => Promise.reject(new Error('AssumeRole arn:aws:iam::111122223333:role/x returned no credentials')) };
    const run = await cli(['token', '--cluster', LAB_CLUSTER], { tokens: async () => failing });
    expect(run.code).toBe(EXIT.error);
    expect(run.stderr).toMatch(/^error: .*returned no credentials/);
    expect(run.stdout).toBe('');
  });
});

describe('help', () => {
  test.each<[string[], string[]]>([
    [['--help'], ['plan', 'apply', 'status', 'token']],
    [['help'], ['plan', 'apply', 'status', 'token']],
    [['plan', '--help'], ['--cluster', '--region', '--route-table-ids', '--route-table-tag', '--reader-role-arn', '--json', '--allow-empty', '--max-delete-fraction', '--force']],
    [['apply', '-h'], ['--cluster', '--route-table-ids', '--force']],
    [['help', 'status'], ['--cluster', '--json']],
    [['token', '--help'], ['--cluster', '--reader-role-arn']],
  ])('%j → exit 0 with the usage on stdout', async (argv, mentions) => {
    const run = await cli(argv);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/Usage: eks-hybrid-routes/);
    for (const word of mentions) expect(run.stdout).toContain(word);
    expect(run.createDeps).not.toHaveBeenCalled();
    expect(run.createTokens).not.toHaveBeenCalled();
  });
});

describe('the real entry point (`npm run cli`, a subprocess)', () => {
  const root = process.cwd();
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^AWS_/.test(key) && !/^(CLUSTER_NAME|ROUTE_TABLE_IDS|ROUTE_TABLE_TAG|READER_ROLE_ARN|REMOTE_VPC_ID)$/.test(key)),
  );
  const npmCli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('npm', ['run', '-s', 'cli', '--', ...args], { cwd: root, env, timeout: 20_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  test('runs from the repository root', () => {
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.cli).toMatch(/functions\/cli\/main\.ts/);
  });

  test('bad usage exits 2 with the --cluster message on stderr, nothing on stdout', async () => {
    const bad = await npmCli(['plan', '--cluster', 'bad!', '--route-table-ids', 'rtb-0123456789abcdef0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --cluster: /m);
    expect(bad.stderr).toContain('bad!');
    expect(bad.stdout).toBe('');
  }, 30_000);
});
