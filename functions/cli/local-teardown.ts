/**
 * Runs the teardown state machine locally: the definition is the one `cdk synth` produces for the stack
 * (infra/teardown-definition.ts), interpreted by aws-local-stepfunctions; its Lambda tasks run in this process
 * through the real handler, whose AWS and Kubernetes calls go wherever the environment points the SDK
 * (the local cloud, for `npm run -s cli -- teardown --local` and the end-to-end tests). There is no second
 * copy of the order: a state the deployed definition does not have cannot run here.
 */
import { ExecutionError, type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Context } from 'aws-lambda';
import { STATE_NAMES } from '../core/teardown-steps.js';

export interface TeardownDefinition {
  definition: Record<string, unknown>;
  /** The Resource of the Tasks that invoke the teardown Lambda. */
  taskFunctionArn: string;
}

export interface LocalTeardownOptions {
  input: unknown;
  /** The Lambda handler the Task states invoke (functions/handlers/teardown.ts `createTeardownHandler`). */
  handler: (event: unknown, context: Context) => Promise<unknown>;
  /** Default: synthesized from the CDK app, as `cdk synth` would. */
  definition?: TeardownDefinition;
  /** Pause of every Wait state in ms instead of its SecondsPath (tests); default: the input's seconds. */
  waitMs?: number;
  /** Pause before every retry in ms instead of the Retry field's backoff (tests). */
  retryMs?: number;
  executionName?: string;
}

export interface LocalTeardownResult {
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
  /** Every state entered, in order (`name` or `name[i]` for a Map iteration). */
  states: string[];
  /** The output of the verify step: the summary, also when the execution ends in the Fail state. */
  summary?: unknown;
}

type StateDefinition = Record<string, unknown> & { Type: string };

/** Every state of the definition, including those inside Map item processors and Parallel branches. */
function allStates(machine: Record<string, unknown>): [string, StateDefinition][] {
  const states = Object.entries((machine.States ?? {}) as Record<string, StateDefinition>);
  return states.flatMap(([name, state]) => [
    [name, state] as [string, StateDefinition],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor as Record<string, unknown>) : []),
    ...(state.Iterator ? allStates(state.Iterator as Record<string, unknown>) : []),
    ...((state.Branches as Record<string, unknown>[] | undefined) ?? []).flatMap(allStates),
  ]);
}

function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * What Step Functions sees when a Lambda task throws: Error = the error's name (Lambda's errorType), Cause =
 * Lambda's JSON error document. Reproduced so Catch, Retry and the summary behave as they do in AWS.
 */
function asLambdaError(error: unknown): Error {
  const errorType = error instanceof Error ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const thrown = new Error(JSON.stringify({ errorType, errorMessage }));
  thrown.name = errorType;
  return thrown;
}

export async function loadTeardownDefinition(): Promise<TeardownDefinition> {
  const { synthesizeTeardownDefinition } = await import('../../infra/teardown-definition.js');
  return synthesizeTeardownDefinition();
}

export async function runTeardownLocally(options: LocalTeardownOptions): Promise<LocalTeardownResult> {
  const { definition, taskFunctionArn } = options.definition ?? (await loadTeardownDefinition());
  const taskHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const waitOverrides: Record<string, number> = {};
  const retryOverrides: Record<string, number> = {};
  for (const [name, state] of allStates(definition)) {
    if (state.Type === 'Task') {
      if (state.Resource !== taskFunctionArn) throw new Error(`state "${name}": resource ${String(state.Resource)} cannot run locally (only the teardown Lambda can)`);
      const timeoutMs = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds * 1000 : 120_000;
      taskHandlers[name] = async (input) => {
        try {
          // A JSON round trip, as between Step Functions and Lambda: nothing but data crosses.
          const result = await options.handler(JSON.parse(JSON.stringify(input)), lambdaContext('TeardownFunction', timeoutMs));
          return JSON.parse(JSON.stringify(result ?? null));
        } catch (error) {
          throw asLambdaError(error);
        }
      };
    }
    if (state.Type === 'Wait' && options.waitMs !== undefined) waitOverrides[name] = options.waitMs;
    if (Array.isArray(state.Retry) && options.retryMs !== undefined) retryOverrides[name] = options.retryMs;
  }

  const machine = new StateMachine(definition as unknown as StateMachineDefinition);
  const name = options.executionName ?? `teardown-local-${Date.now()}`;
  const runOptions: RunOptions = {
    overrides: {
      taskResourceLocalHandlers: taskHandlers as NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers'],
      waitTimeOverrides: waitOverrides,
      retryIntervalOverrides: retryOverrides,
    },
    context: {
      Execution: { Id: `arn:aws:states:local:000000000000:execution:teardown:${name}`, Name: name, Input: options.input as never, StartTime: new Date().toISOString() },
    },
  };
  const execution = machine.run(options.input as never, runOptions);
  const states: string[] = [];
  let summary: unknown;
  const trail = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') states.push(event.index === undefined ? event.state.name : `${event.state.name}[${event.index}]`);
      if (event.type === 'StateExited' && event.index === undefined && event.state.name === STATE_NAMES.verify) summary = event.state.output;
    }
  })();
  try {
    const output = await execution.result;
    await trail;
    return { status: 'SUCCEEDED', output, states, ...(summary !== undefined ? { summary } : {}) };
  } catch (error) {
    await trail.catch(() => undefined);
    if (error instanceof ExecutionError) {
      const cause = error.cause as { name?: string; message?: string } | undefined;
      return { status: 'FAILED', error: cause?.name ?? 'Error', cause: cause?.message ?? '', states, ...(summary !== undefined ? { summary } : {}) };
    }
    throw error;
  }
}
