/**
 * `teardown`: start the deployed teardown state machine (StartExecution, optionally waiting for the end), or
 * with `--local` run the same, synthesized definition in this process against whatever the environment
 * points the SDK at (the local cloud). The execution input is built from the flags, or read from `--input`.
 */
import { readFile } from 'node:fs/promises';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type Command, Option } from 'commander';
import { clientConfig } from '../adapters/aws-clients.js';
import { ConfigError } from '../core/errors.js';
import { INCOMPLETE_ERROR, TEARDOWN_ENV } from '../core/teardown-steps.js';
import { type TeardownInput, TeardownInputSchema } from '../core/teardown.js';
import type { TeardownDeps, TeardownSettings } from '../service/teardown.js';
import { fieldPath } from '../shared/field-path.js';

export interface TeardownOptions {
  cluster?: string;
  region?: string;
  input?: string;
  nodes?: string;
  all?: boolean;
  terminateInstances?: boolean;
  deleteActivations?: boolean;
  dryRun?: boolean;
  drainTimeout?: string;
  uninstallTimeout?: string;
  poll?: string;
  nodeConcurrency?: string;
  nodeadmPath?: string;
  local?: boolean;
  teardownRoleArn?: string;
  ruleNames?: string;
  stateMachineArn?: string;
  wait?: boolean;
  name?: string;
  json?: boolean;
}

export function withTeardownOptions(command: Command): Command {
  return command
    .option('--input <file>', 'execution input JSON (e.g. events/teardown-one-node.json); flags below override its fields')
    .option('--nodes <ids>', 'node names, managed-instance ids (mi-…) or EC2 instance ids (i-…), comma-separated')
    .option('--all', 'tear down every hybrid node of the cluster')
    .option('--terminate-instances', 'terminate the EC2 instances after the nodes are removed (only those shown to be theirs: agent online there, or the i-… id in --nodes)')
    .option('--delete-activations', "delete the cluster's SSM hybrid activations (tagged EKSClusterARN)")
    .option('--dry-run', 'walk every step and report what would be done; change nothing')
    .option('--drain-timeout <seconds>', 'per node: how long draining may take (default 300)')
    .option('--uninstall-timeout <seconds>', 'per node: how long to wait for nodeadm uninstall before deregistering (default 600)')
    .option('--poll <seconds>', 'pause between progress checks (default 10)')
    .option('--node-concurrency <n>', 'nodes torn down at once (default 5)')
    .option('--nodeadm-path <path>', 'nodeadm on the nodes (default: nodeadm on PATH)')
    .option('--local', 'run the synthesized definition in this process against the endpoint the environment names (the local cloud)')
    .option('--teardown-role-arn <arn>', `--local: IAM role for the Kubernetes API (env ${TEARDOWN_ENV.teardownRoleArn})`)
    .option('--rule-names <names>', `--local: the reconciler's EventBridge rules, comma-separated (env ${TEARDOWN_ENV.ruleNames})`)
    .option('--state-machine-arn <arn>', 'the deployed state machine (env TEARDOWN_STATE_MACHINE_ARN; stack output TeardownStateMachineArn)')
    .option('--wait', 'wait for the execution to end and print its result')
    .addOption(new Option('--name <name>', 'execution name (default: teardown-<time>)'));
}

const integer = (text: string | undefined, option: string): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new ConfigError(option, `must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
};

/** The execution input: `--input` (if any) with the flags laid over it, validated as the first state would. */
export async function teardownInput(options: TeardownOptions, env: Record<string, string | undefined>): Promise<TeardownInput> {
  let base: Record<string, unknown> = {};
  if (options.input) {
    try {
      base = JSON.parse(await readFile(options.input, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError('--input', `cannot read ${options.input}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new ConfigError('--input', 'must hold one JSON object');
  }
  if (options.all && options.nodes) throw new ConfigError('--nodes', 'give --nodes or --all, not both');
  const timeouts = { ...((base.timeouts as Record<string, unknown> | undefined) ?? {}) };
  const drain = integer(options.drainTimeout, '--drain-timeout');
  const uninstall = integer(options.uninstallTimeout, '--uninstall-timeout');
  const poll = integer(options.poll, '--poll');
  if (drain !== undefined) timeouts.drainSeconds = drain;
  if (uninstall !== undefined) timeouts.uninstallSeconds = uninstall;
  if (poll !== undefined) timeouts.pollSeconds = poll;
  const clusterName = options.cluster ?? (base.clusterName as string | undefined) ?? env.CLUSTER_NAME;
  const input: Record<string, unknown> = {
    ...base,
    ...(clusterName ? { clusterName } : {}),
    ...(options.all ? { nodes: 'all' } : {}),
    ...(options.nodes ? { nodes: options.nodes.split(',').map((id) => id.trim()).filter(Boolean) } : {}),
    ...(options.terminateInstances ? { terminateInstances: true } : {}),
    ...(options.deleteActivations ? { deleteActivations: true } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(Object.keys(timeouts).length > 0 ? { timeouts } : {}),
    ...(options.nodeConcurrency !== undefined ? { concurrency: integer(options.nodeConcurrency, '--node-concurrency') } : {}),
    ...(options.nodeadmPath ? { nodeadmPath: options.nodeadmPath } : {}),
  };
  const parsed = TeardownInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = fieldPath(issue.path, 'input');
    const option = { clusterName: '--cluster', nodes: '--nodes' }[String(issue.path[0])] ?? field;
    throw new ConfigError(option, issue.message);
  }
  return input as TeardownInput;
}

export interface TeardownIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Replaces the real adapters of a `--local` run (tests). */
  createTeardownDeps?: (settings: TeardownSettings, teardownRoleArn: string | undefined) => Promise<TeardownDeps>;
  /** Wait-state pause of a `--local` run in ms (tests); default: the input's poll seconds. */
  localWaitMs?: number;
  localRetryMs?: number;
}

/** Exit codes beyond the CLI's common ones: the teardown ended but left something behind. */
export const TEARDOWN_EXIT = { ok: 0, error: 1, badInput: 2, incomplete: 4 } as const;

/** How an execution that ended ends the CLI: the input refused by the snapshot step is bad input, as documented. */
function exitCodeOf(status: string | undefined, error: string | undefined): number {
  if (status === 'SUCCEEDED') return TEARDOWN_EXIT.ok;
  if (error === INCOMPLETE_ERROR) return TEARDOWN_EXIT.incomplete;
  return error === 'InvalidTeardownInput' ? TEARDOWN_EXIT.badInput : TEARDOWN_EXIT.error;
}

export async function runTeardown(
  options: TeardownOptions,
  io: TeardownIo,
  /** The task Lambda's settings for a `--local` run, for the cluster the input names. */
  settingsOf: (clusterName: string) => TeardownSettings,
): Promise<number> {
  const input = await teardownInput(options, io.env);
  if (options.local) return runLocal(input, options, io, settingsOf(input.clusterName));
  return runDeployed(input, options, io);
}

async function runLocal(input: TeardownInput, options: TeardownOptions, io: TeardownIo, settings: TeardownSettings): Promise<number> {
  // The task handler logs like a Lambda; on a terminal only its warnings and errors (stderr) are wanted,
  // and no EMF lines. Set before the handler's module (and its Powertools singletons) is loaded.
  io.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  io.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const [{ createTeardownHandler }, { runTeardownLocally }, { createTeardownDeps }] = await Promise.all([
    import('../handlers/teardown.js'),
    import('./local-teardown.js'),
    import('../service/teardown-dependencies.js'),
  ]);
  const roleArn = options.teardownRoleArn ?? io.env[TEARDOWN_ENV.teardownRoleArn];
  const handler = createTeardownHandler({
    loadSettings: () => settings,
    createDeps: (loaded) => (io.createTeardownDeps ?? createTeardownDeps)(loaded, roleArn),
  });
  const result = await runTeardownLocally({
    input,
    handler,
    ...(io.localWaitMs !== undefined ? { waitMs: io.localWaitMs } : {}),
    ...(io.localRetryMs !== undefined ? { retryMs: io.localRetryMs } : {}),
    ...(options.name ? { executionName: options.name } : {}),
  });
  const summary = (result.summary ?? result.output) as { message?: string } | undefined;
  if (options.json) {
    io.stdout(JSON.stringify({ status: result.status, ...(result.error ? { error: result.error, cause: result.cause } : {}), summary: summary ?? null, states: result.states }, null, 2));
  } else {
    io.stdout(`${result.status}${result.error ? ` (${result.error})` : ''}: ${summary?.message ?? result.cause ?? ''}\n${summary ? JSON.stringify(summary, null, 2) : ''}`);
  }
  return exitCodeOf(result.status, result.error);
}

async function runDeployed(input: TeardownInput, options: TeardownOptions, io: TeardownIo): Promise<number> {
  const stateMachineArn = options.stateMachineArn ?? io.env.TEARDOWN_STATE_MACHINE_ARN;
  if (!stateMachineArn) throw new ConfigError('--state-machine-arn', 'is required without --local (stack output TeardownStateMachineArn)');
  const client = new SFNClient(clientConfig(options.region ? { region: options.region } : {}));
  const name = options.name ?? `teardown-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const started = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  const executionArn = started.executionArn!;
  if (!options.wait) {
    io.stdout(options.json ? JSON.stringify({ executionArn, status: 'RUNNING' }, null, 2) : `started ${executionArn}`);
    return TEARDOWN_EXIT.ok;
  }
  const pollMs = (input.timeouts?.pollSeconds ?? 10) * 1000;
  for (;;) {
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      const output = execution.output ? (JSON.parse(execution.output) as unknown) : null;
      if (options.json) {
        io.stdout(JSON.stringify({ executionArn, status: execution.status, ...(execution.error ? { error: execution.error, cause: execution.cause } : {}), summary: output }, null, 2));
      } else {
        io.stdout(`${execution.status}${execution.error ? ` (${execution.error})` : ''}: ${(output as { message?: string } | null)?.message ?? execution.cause ?? ''}\n${executionArn}`);
      }
      return exitCodeOf(execution.status, execution.error);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
