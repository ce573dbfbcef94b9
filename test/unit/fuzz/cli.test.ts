/**
 * Fuzzing the operator CLI's options: valid `plan` / `apply` / `status` command lines with one random change
 * (a random value for an option, a missing value, an unknown option, a stray argument, an option given twice,
 * a required option dropped, both table selectors). The CLI runs on in-memory ports (io.createDeps) over a
 * lab with drift, so an accepted `apply` would mutate. Every run ends with 0 or 3 (accepted), 2 (bad usage:
 * the message names the option, nothing changed) or 1 only for a read error (nothing changed): never a crash,
 * never a mutating call after a bad value. FUZZ_RUNS / PROPERTY_RUNS raise the run count.
 */
import fc from 'fast-check';
import { type CliIo, EXIT, runCli } from '../../../functions/cli/main.js';
import { REMOTE_VPC, foreignRoutes, table } from '../../support/builders.js';
import { type FakeRouteTable, LAB_CLUSTER, LAB_ROUTE_TABLE, fakeWorld } from '../../support/fakes.js';
import { describeThrown, fuzzRuns, stringEdits, timeoutFor } from '../../support/fuzz.js';

const RUNS = fuzzRuns();
const TAG = 'eks-hybrid-routes/managed=true';

/** Every option of the reconcile commands with a valid value for the lab. */
const OPTIONS: Record<string, string> = {
  '--cluster': LAB_CLUSTER,
  '--route-table-ids': LAB_ROUTE_TABLE,
  '--vpc-id': REMOTE_VPC,
  '--region': 'us-west-2',
  '--reader-role-arn': 'arn:aws:iam::123456789012:role/eks-hybrid-routes-reader',
  '--pod-networks': '10.30.0.0/16',
  '--node-networks': '10.20.0.0/16',
  '--max-delete-fraction': '0.5',
  '--min-delete-budget': '3',
  '--concurrency': '4',
};
const REQUIRED = ['--cluster', '--route-table-ids'];
const OPTIONAL = Object.keys(OPTIONS).filter((name) => !REQUIRED.includes(name));
const FLAGS = ['--json', '--allow-empty', '--force'];

/** Values an operator might type by mistake, or a fuzzer by design. */
function valueFor(option: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: stringEdits(OPTIONS[option]!) },
    { weight: 2, arbitrary: fc.string({ maxLength: 12, unit: 'grapheme' }) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '', ' ', '-1', '1e3', '0x10', 'NaN', 'Infinity', '1.5', '0.50', '.5', '1.0', '100000', '51', '0', '00', '1 2',
        '--json', '--help', '-h', '--force', '=', 'a=b', '*', '?', 'k=*', '10.30.0.0/8', '10.40.0.0/16', '10.30.0.0/16,', ',', 'fd00:30::/56',
        'rtb-0123', 'rtb-0a1b2c3d4e5f60099', 'rtb-0a1b2c3d4e5f60001,rtb-0a1b2c3d4e5f60001', 'vpc-0f0f0f0f0f0f0f0f0', 'other-cluster', 'us-east-1', 'US-WEST-2',
        'arn:aws:iam::123456789012:user/x', '\u0000', '🙂', 'x'.repeat(10_000),
      ),
    },
  );
}

type Change =
  | { kind: 'none' }
  | { kind: 'value'; option: string; value: string }
  | { kind: 'missing-value'; option: string }
  | { kind: 'unknown-option'; token: string }
  | { kind: 'stray-argument'; token: string }
  | { kind: 'twice'; option: string; value: string }
  | { kind: 'drop'; option: string }
  | { kind: 'both-selectors' };

interface CommandLine {
  command: 'plan' | 'apply' | 'status';
  options: [string, string][];
  flags: string[];
  change: Change;
  argv: string[];
}

const commandLine: fc.Arbitrary<CommandLine> = fc
  .record({
    command: fc.constantFrom<'plan' | 'apply' | 'status'>('plan', 'apply', 'status'),
    optional: fc.subarray(OPTIONAL),
    flags: fc.subarray(FLAGS),
    useTag: fc.boolean(),
  })
  .chain(({ command, optional, flags, useTag }) => {
    const options: [string, string][] = [
      ['--cluster', OPTIONS['--cluster']!],
      useTag ? ['--route-table-tag', TAG] : ['--route-table-ids', OPTIONS['--route-table-ids']!],
      ...optional.map((name): [string, string] => [name, OPTIONS[name]!]),
    ];
    const names = options.map(([name]) => name);
    const change: fc.Arbitrary<Change> = fc.oneof(
      { weight: 1, arbitrary: fc.constant<Change>({ kind: 'none' }) },
      { weight: 8, arbitrary: fc.constantFrom(...names).chain((option) => valueFor(option === '--route-table-tag' ? '--cluster' : option).map((value): Change => ({ kind: 'value', option, value }))) },
      { weight: 1, arbitrary: fc.constantFrom(...names).map((option): Change => ({ kind: 'missing-value', option })) },
      { weight: 1, arbitrary: fc.constantFrom('--bogus', '--force=yes', '-x', '--cluster-name', '--route-table', '--dry-run', '--concurrency=4x').map((token): Change => ({ kind: 'unknown-option', token })) },
      { weight: 1, arbitrary: fc.constantFrom('extra', 'apply', 'rtb-0a1b2c3d4e5f60001').map((token): Change => ({ kind: 'stray-argument', token })) },
      { weight: 1, arbitrary: fc.constantFrom(...names).chain((option) => valueFor(option === '--route-table-tag' ? '--cluster' : option).map((value): Change => ({ kind: 'twice', option, value }))) },
      { weight: 1, arbitrary: fc.constantFrom(...names.slice(0, 2)).map((option): Change => ({ kind: 'drop', option })) },
      { weight: 1, arbitrary: fc.constant<Change>({ kind: 'both-selectors' }) },
    );
    return change.map((chosen): CommandLine => {
      let list = options.map(([name, value]): [string, string] => (chosen.kind === 'value' && chosen.option === name ? [name, chosen.value] : [name, value]));
      if (chosen.kind === 'drop' || chosen.kind === 'missing-value') list = list.filter(([name]) => name !== chosen.option);
      const argv = [command, ...list.flat(), ...flags];
      if (chosen.kind === 'twice') argv.push(chosen.option, chosen.value);
      if (chosen.kind === 'both-selectors') argv.push(useTag ? '--route-table-ids' : '--route-table-tag', useTag ? LAB_ROUTE_TABLE : TAG);
      if (chosen.kind === 'unknown-option') argv.splice(1, 0, chosen.token);
      if (chosen.kind === 'stray-argument') argv.push(chosen.token);
      // Last, so that nothing follows that commander could take for the value.
      if (chosen.kind === 'missing-value') argv.push(chosen.option);
      return { command, options: list, flags, change: chosen, argv };
    });
  });

/** The lab with drift (a route missing, source/dest check on); its table carries the managed tag too. */
function labWorld() {
  const tables: FakeRouteTable[] = [{ ...table(LAB_ROUTE_TABLE, foreignRoutes()), tags: { 'eks-hybrid-routes': 'x', 'eks-hybrid-routes/managed': 'true' } }];
  return fakeWorld({ tables });
}

async function run(argv: string[]) {
  const world = labWorld();
  const out: string[] = [];
  const err: string[] = [];
  let createDepsCalls = 0;
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env: {},
    createDeps: async () => {
      createDepsCalls += 1;
      return world.deps;
    },
    createTokens: async () => {
      throw new Error('the token command is not fuzzed here');
    },
  };
  let code: number;
  try {
    code = await runCli(argv, io);
  } catch (error) {
    throw new Error(`runCli threw instead of returning an exit code: ${describeThrown(error)}`);
  }
  return { code, stdout: out.join(''), stderr: err.join(''), world, createDepsCalls };
}

function rule(holds: boolean, what: string, detail?: unknown): void {
  if (!holds) throw new Error(`${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)?.slice(0, 800)}`}`);
}

/** What a usage error must name for this change. */
function culprits(line: CommandLine): string[] {
  const { change } = line;
  switch (change.kind) {
    case 'value':
    case 'missing-value':
    case 'twice':
      return [change.option];
    case 'drop':
      return [change.option];
    case 'both-selectors':
      return ['--route-table-ids', '--route-table-tag'];
    case 'unknown-option':
      // `--concurrency=4x` is a known option with a bad value: named without its value.
      return [change.token.split('=')[0]!];
    case 'stray-argument':
      return [change.token];
    case 'none':
      return [];
  }
}

describe('fuzzing the CLI options', () => {
  test(
    'a changed command line: accepted (0, 3), bad usage naming the option (2), or a read error (1); never a crash, never a mutation after a bad value',
    async () => {
      await fc.assert(
        fc.asyncProperty(commandLine, async (line) => {
          const { code, stderr, world } = await run(line.argv);
          const mutations = world.ec2.mutations();
          const shown = { argv: line.argv.map((arg) => (arg.length > 60 ? `${arg.slice(0, 20)}…(${arg.length})` : arg)), code, stderr: stderr.slice(0, 400) };
          rule(([EXIT.ok, EXIT.error, EXIT.usage, EXIT.vetoed] as number[]).includes(code), 'a documented exit code', shown);
          if (line.command !== 'apply') rule(mutations.length === 0, `${line.command} never mutates`, mutations);

          if (code === EXIT.usage) {
            rule(line.change.kind !== 'none', 'an unchanged command line is accepted', shown);
            rule(stderr.startsWith('error: '), 'a usage error says error:', shown);
            const firstLine = stderr.split('\n')[0]!;
            // Commander names options as it declares them (`--cluster <name>`), the configuration as typed (`--pod-networks[0]`).
            rule(
              culprits(line).some((name) => firstLine.includes(name.length > 60 ? name.slice(0, 60) : name)),
              `the error names ${culprits(line).join(' or ')}`,
              shown,
            );
            rule(mutations.length === 0, 'nothing is changed after bad usage', mutations);
            return;
          }
          if (code === EXIT.error) {
            // Only a read that failed (a valid but different cluster, table or VPC); a crash would say TypeError etc.
            rule(/^error: (cluster|ciliumnodes|network-interfaces|route-tables): /.test(stderr), 'exit 1 only for a read error', shown);
            rule(mutations.length === 0, 'nothing is changed after a read error', mutations);
            return;
          }
          rule(stderr === '', 'an accepted command writes nothing to stderr', shown);
        }),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 60),
  );

  test(
    'a bad value for one option: exit 2 naming exactly that option, and not one port call beyond reading the cluster',
    async () => {
      // Values that are wrong for the option they are given to, whatever else is on the line.
      const BAD: Record<string, fc.Arbitrary<string>> = {
        '--cluster': fc.constantFrom('', ' ', '-x', 'a b', '_lab', 'x'.repeat(101), 'lab!', '🙂'),
        '--route-table-ids': fc.constantFrom(',', 'rtb-', 'rtb-XYZ', 'rtb-0123', 'rtb-0a1b2c3d4e5f60001,nope', 'RTB-0A1B2C3D4E5F60001'),
        '--route-table-tag': fc.constantFrom('key', '=value', ' =x', 'k*=v', 'k=v?', '='),
        '--vpc-id': fc.constantFrom('vpc-', 'vpc-XYZ', 'subnet-0a1b2c3d4e5f60001', ''),
        '--region': fc.constantFrom('us_west_2', 'US-WEST-2', 'uswest2', 'us-west-', ''),
        '--reader-role-arn': fc.constantFrom('arn:aws:iam::123456789012:user/x', 'role/x', 'arn:aws:iam::12345:role/x', ''),
        '--pod-networks': fc.constantFrom('10.30.0.0', 'garbage', '10.30.1.7/24', '10.30.0.0/16,nope', '10.40.0.0/16', '10.0.0.0/8', 'fd00:99::/64'),
        '--node-networks': fc.constantFrom('10.20.0.0', '10.20.1.7/24', '10.0.0.0/8', 'nope'),
        '--max-delete-fraction': fc.constantFrom('1.5', '-0.1', '50%', '0x1', '1e-1', 'NaN', '', ' ', 'half', '2'),
        '--min-delete-budget': fc.constantFrom('-1', '1.5', '1e3', '0x10', 'three', '', '100001', '9999999999'),
        '--concurrency': fc.constantFrom('0', '51', '-1', '1.5', 'four', '', '1e1', '0x4'),
      };
      const arb = fc.record({
        command: fc.constantFrom('plan', 'apply', 'status'),
        option: fc.constantFrom(...Object.keys(BAD)),
        flags: fc.subarray(FLAGS),
      }).chain(({ command, option, flags }) => BAD[option]!.map((value) => ({ command, option, value, flags })));
      await fc.assert(
        fc.asyncProperty(arb, async ({ command, option, value, flags }) => {
          const base: [string, string][] = [
            ['--cluster', LAB_CLUSTER],
            option === '--route-table-tag' ? ['--route-table-tag', TAG] : ['--route-table-ids', LAB_ROUTE_TABLE],
          ];
          const line = [...base.filter(([name]) => name !== option), [option, value]] as [string, string][];
          const argv = [command, ...line.flat(), ...flags];
          const { code, stderr, world } = await run(argv);
          const shown = { argv, code, stderr: stderr.split('\n')[0] };
          rule(code === EXIT.usage, 'exit 2', shown);
          rule(stderr.startsWith(`error: ${option}`), `the message starts with the option ${option}`, shown);
          const reads = world.allCalls().map((call) => call.method);
          // Only the narrowing options need the cluster's networks to be judged.
          const allowed = option === '--pod-networks' || option === '--node-networks' ? ['describeCluster'] : [];
          rule(reads.every((method) => allowed.includes(method)), 'no port call but reading the cluster', reads);
        }),
        { numRuns: fuzzRuns(0.5) },
      );
    },
    timeoutFor(RUNS, 60),
  );
});
