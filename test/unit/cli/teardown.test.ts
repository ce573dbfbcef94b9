/**
 * `cli teardown` without `--local`: the execution input built from `--input` and the flags (checked before
 * anything is sent), StartExecution against the deployed state machine, and `--wait` mapping the execution's
 * end to exit codes (0 complete, 1 failed, 2 bad input, 4 incomplete). The `--local` path is covered end to end
 * (test/e2e/teardown.e2e.test.ts and the subprocess test in localcloud-contract.e2e.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { EXIT, runCli } from '../../../functions/cli/main.js';
import { teardownInput } from '../../../functions/cli/teardown.js';

const ARN = 'arn:aws:states:us-west-2:123456789012:stateMachine:eks-hybrid-routes-teardown';
const EXECUTION = 'arn:aws:states:us-west-2:123456789012:execution:eks-hybrid-routes-teardown:run-1';
const sfn = mockClient(SFNClient);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'teardown-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => sfn.reset());

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text), env: { AWS_REGION: 'us-west-2', ...env } };
  return runCli(['teardown', ...args], io).then((code) => ({ code, stdout: out.join(''), stderr: err.join('') }));
}

function inputFile(content: unknown): string {
  const file = join(dir, `input-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('the execution input', () => {
  test('flags build it; the defaults are left to the state machine', async () => {
    expect(await teardownInput({ cluster: 'c1', nodes: 'mi-026d6a261e355fba7, i-0a1b2c3d4e5f60002', dryRun: true, poll: '2' }, {})).toEqual({
      clusterName: 'c1',
      nodes: ['mi-026d6a261e355fba7', 'i-0a1b2c3d4e5f60002'],
      dryRun: true,
      timeouts: { pollSeconds: 2 },
    });
  });

  test('flags override the --input file field by field; CLUSTER_NAME is the last resort', async () => {
    const file = inputFile({ clusterName: 'from-file', nodes: 'all', deleteActivations: true, timeouts: { drainSeconds: 60 } });
    expect(await teardownInput({ input: file, nodes: 'node-a', uninstallTimeout: '30' }, { CLUSTER_NAME: 'from-env' })).toEqual({
      clusterName: 'from-file',
      nodes: ['node-a'],
      deleteActivations: true,
      timeouts: { drainSeconds: 60, uninstallSeconds: 30 },
    });
    expect((await teardownInput({ all: true }, { CLUSTER_NAME: 'from-env' })).clusterName).toBe('from-env');
  });

  test.each([
    [['--nodes', 'mi-026d6a261e355fba7'], /--cluster: must name the cluster/],
    [['--cluster', 'c1'], /--nodes: must be "all" or a list/],
    [['--cluster', 'c1', '--all', '--nodes', 'a'], /--nodes: give --nodes or --all, not both/],
    [['--cluster', 'c1', '--nodes', 'Bad_Name'], /--nodes: must be a node name/],
    [['--cluster', 'c1', '--all', '--poll', 'soon'], /--poll: must be a whole number/],
    [['--cluster', 'c1', '--all', '--poll', '0'], /timeouts\.pollSeconds: pollSeconds must be at least 1/],
    [['--cluster', 'c1', '--all', '--node-concurrency', '99'], /concurrency: /],
    [['--cluster', 'c1', '--all', '--input', '/nonexistent/input.json'], /--input: cannot read/],
  ])('%j is bad usage (exit 2) naming the flag or field, and nothing is sent', async (args, message) => {
    const result = await cli([...args, '--state-machine-arn', ARN]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(message);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('an --input file that is not one JSON object is refused', async () => {
    const result = await cli(['--input', inputFile('[1,2]'), '--state-machine-arn', ARN]);
    expect(result).toMatchObject({ code: EXIT.usage, stderr: expect.stringMatching(/--input: must hold one JSON object/) });
  });
});

describe('the deployed state machine', () => {
  test('StartExecution with the input as JSON and the given name; prints the execution ARN', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    const result = await cli(['--cluster', 'c1', '--nodes', 'mi-026d6a261e355fba7', '--terminate-instances', '--state-machine-arn', ARN, '--name', 'run-1']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe(`started ${EXECUTION}`);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ARN, name: 'run-1' });
    const sent = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(sent).toEqual({ clusterName: 'c1', nodes: ['mi-026d6a261e355fba7'], terminateInstances: true });
  });

  test('the state machine comes from TEARDOWN_STATE_MACHINE_ARN when not given; without either it is bad usage', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    expect((await cli(['--cluster', 'c1', '--all'], { TEARDOWN_STATE_MACHINE_ARN: ARN })).code).toBe(EXIT.ok);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ARN });
    const missing = await cli(['--cluster', 'c1', '--all']);
    expect(missing).toMatchObject({ code: EXIT.usage, stderr: expect.stringMatching(/--state-machine-arn: is required without --local/) });
  });

  test.each([
    ['SUCCEEDED', undefined, { complete: true, message: '1 of 1 node(s) torn down; 3 route(s) removed' }, EXIT.ok],
    ['FAILED', 'TeardownIncomplete', undefined, EXIT.incomplete],
    ['FAILED', 'States.Runtime', undefined, EXIT.error],
    // The snapshot step refused the input (e.g. a cluster the stack is not deployed for): bad input.
    ['FAILED', 'InvalidTeardownInput', undefined, EXIT.usage],
    ['TIMED_OUT', undefined, undefined, EXIT.error],
  ] as const)('--wait: an execution that ends %s (%s) exits with its code and prints the result', async (status, error, output, code) => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: EXECUTION, status: 'RUNNING', stateMachineArn: ARN, startDate: new Date() })
      .resolves({
        executionArn: EXECUTION,
        status,
        stateMachineArn: ARN,
        startDate: new Date(),
        ...(output ? { output: JSON.stringify(output) } : {}),
        ...(error ? { error, cause: 'mi-026d6a261e355fba7 failed: DrainTimedOut' } : {}),
      });
    const result = await cli(['--cluster', 'c1', '--all', '--state-machine-arn', ARN, '--wait', '--poll', '1', '--json']);
    expect(result.code).toBe(code);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(2);
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({ executionArn: EXECUTION, status, summary: output ?? null });
    if (error) expect(printed).toMatchObject({ error, cause: expect.stringContaining('DrainTimedOut') });
  });
});
