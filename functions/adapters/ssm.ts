/**
 * SSM adapter: managed-instance (`mi-…`) lookups through `ssm:DescribeInstanceInformation`; for teardown also
 * hybrid activations, deregistration and Run Command.
 */
import {
  DeleteActivationCommand,
  DeregisterManagedInstanceCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  paginateDescribeActivations,
  paginateDescribeInstanceInformation,
  paginateListCommands,
  type Activation,
  type InstanceInformation,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type {
  ActivationRecord,
  CommandInvocationRecord,
  ManagedInstancePort,
  ManagedInstanceRecord,
  TeardownSsmPort,
} from '../core/ports.js';
import { type AwsClientOptions, clientConfig } from './aws-clients.js';
import { isAwsError } from './ec2.js';

/** InstanceInformationStringFilter.Values holds 1–100 items (SSM API model). */
export const MAX_INSTANCE_IDS_PER_CALL = 100;
/** DescribeInstanceInformation MaxResults range is 5–50 (default 10). */
const PAGE_SIZE = 50;
/** DescribeActivations MaxResults range is 1–50. */
const ACTIVATIONS_PAGE_SIZE = 50;
/** SendCommand Comment is at most 100 characters. */
export const MAX_COMMENT_LENGTH = 100;
/** ListCommands MaxResults range is 1–50. */
const COMMANDS_PAGE_SIZE = 50;
/** The one document teardown runs. */
const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';

/** The comment as SendCommand stores it. The limit counts characters (code points); cutting by code point never splits a surrogate pair. */
const commentAsSent = (comment: string) => Array.from(comment).slice(0, MAX_COMMENT_LENGTH).join('');
/** AWS-RunShellScript's `executionTimeout` parameter accepts 1–172800 seconds (48 hours). */
const MAX_EXECUTION_TIMEOUT_SECONDS = 172_800;
/**
 * SendCommand `TimeoutSeconds` is the *delivery* deadline (30–2592000, default 2 days): a command the agent has
 * not started by then never runs. Teardown only sends to nodes it has just seen online, so delivery takes
 * seconds; five minutes leaves room for an agent reconnecting, and makes an unreachable node fail fast (the
 * invocation ends as `TimedOut` / `DeliveryTimedOut`) instead of an uninstall script waiting two days and then
 * running on a node the workflow has long given up on, or that a later run has re-joined.
 */
export const DELIVERY_TIMEOUT_SECONDS = 300;

/** The reconciler's managed-instance lookup, with its own SSM client (service/dependencies.ts loads it on first use). */
export function createManagedInstanceLookup(options: AwsClientOptions = {}): ManagedInstancePort {
  return new SsmManagedInstanceAdapter(new SSMClient(clientConfig(options)));
}

export class SsmManagedInstanceAdapter implements ManagedInstancePort {
  constructor(protected readonly client: SSMClient) {}

  async describeManagedInstances(instanceIds: string[]): Promise<ManagedInstanceRecord[]> {
    return this.describeInstanceInformation('InstanceIds', instanceIds);
  }

  /** DescribeInstanceInformation with one string filter, its values in batches of 100. */
  protected async describeInstanceInformation(
    key: 'InstanceIds' | 'ActivationIds',
    values: string[],
  ): Promise<ManagedInstanceRecord[]> {
    const unique = [...new Set(values)];
    const records: ManagedInstanceRecord[] = [];
    // Batches run one after another: SSM's request rate is far below EC2's, and a few batches suffice.
    for (let start = 0; start < unique.length; start += MAX_INSTANCE_IDS_PER_CALL) {
      const batch = unique.slice(start, start + MAX_INSTANCE_IDS_PER_CALL);
      const pages = paginateDescribeInstanceInformation(
        { client: this.client, pageSize: PAGE_SIZE },
        { Filters: [{ Key: key, Values: batch }] },
      );
      for await (const page of pages) {
        for (const info of page.InstanceInformationList ?? []) {
          const record = toManagedInstanceRecord(info);
          if (record) records.push(record);
        }
      }
    }
    return records;
  }
}

/**
 * What the teardown workflow does through SSM. Kept apart from the reconciler's read-only adapter so the
 * reconciler's dependencies cannot reach a mutating call.
 */
export class SsmTeardownAdapter extends SsmManagedInstanceAdapter implements TeardownSsmPort {
  /**
   * `sendCommandClient` sends SendCommand, and should make one attempt only: SendCommand has no idempotency
   * token, so an SDK retry after a response that was lost would start a second `nodeadm uninstall` beside the
   * first. A failed send is retried by the state machine instead, whose step first looks for the command an
   * earlier attempt sent (findExecutingCommand).
   */
  constructor(
    client: SSMClient,
    private readonly sendCommandClient: SSMClient = client,
  ) {
    super(client);
  }

  async listManagedInstancesByActivation(activationIds: string[]): Promise<ManagedInstanceRecord[]> {
    // `ActivationIds` is a documented InstanceInformationStringFilter key; an empty list sends nothing.
    return this.describeInstanceInformation('ActivationIds', activationIds);
  }

  async listActivations(): Promise<ActivationRecord[]> {
    const records: ActivationRecord[] = [];
    const pages = paginateDescribeActivations({ client: this.client, pageSize: ACTIVATIONS_PAGE_SIZE }, {});
    for await (const page of pages) {
      for (const activation of page.ActivationList ?? []) {
        const record = toActivationRecord(activation);
        if (record) records.push(record);
      }
    }
    return records;
  }

  async deleteActivation(activationId: string): Promise<'deleted' | 'already-gone'> {
    try {
      await this.client.send(new DeleteActivationCommand({ ActivationId: activationId }));
      return 'deleted';
    } catch (error) {
      // SSM's answer for an activation that does not exist (any more). A malformed id is
      // `InvalidActivationId` instead, and propagates: that is a bug, not a repeat.
      if (isAwsError(error, 'InvalidActivation')) return 'already-gone';
      throw error;
    }
  }

  async deregisterManagedInstance(instanceId: string): Promise<'deregistered' | 'already-gone'> {
    try {
      await this.client.send(new DeregisterManagedInstanceCommand({ InstanceId: instanceId }));
      return 'deregistered';
    } catch (error) {
      // "The following problems can cause this exception: the instance isn't registered with SSM": the
      // state a previous attempt (or someone else) left behind.
      if (isAwsError(error, 'InvalidInstanceId')) return 'already-gone';
      throw error;
    }
  }

  async runShellScript(
    instanceId: string,
    commands: string[],
    options: { comment: string; executionTimeoutSeconds: number },
  ): Promise<string> {
    const { executionTimeoutSeconds } = options;
    // Checked here because SSM's answer to a bad value (`InvalidParameters`) does not say which one.
    if (!Number.isInteger(executionTimeoutSeconds) || executionTimeoutSeconds < 1 || executionTimeoutSeconds > MAX_EXECUTION_TIMEOUT_SECONDS) {
      throw new RangeError(`executionTimeoutSeconds must be an integer from 1 to ${MAX_EXECUTION_TIMEOUT_SECONDS}`);
    }
    // Errors propagate: `InvalidInstanceId` here means the node is not online (or not managed), and the
    // caller has to decide what an uninstall that cannot be sent means.
    const { Command } = await this.sendCommandClient.send(
      new SendCommandCommand({
        DocumentName: RUN_SHELL_SCRIPT,
        InstanceIds: [instanceId],
        Parameters: { commands, executionTimeout: [String(executionTimeoutSeconds)] },
        Comment: commentAsSent(options.comment),
        TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
      }),
    );
    if (!Command?.CommandId) throw new Error(`SendCommand to ${instanceId} returned no command id`);
    return Command.CommandId;
  }

  async findExecutingCommand(instanceId: string, commands: string[], comment: string): Promise<string | undefined> {
    const sentComment = commentAsSent(comment);
    // No InstanceId in the request: SSM does not list a pending command by node ("the command hasn't run on the
    // node yet"), and pending is what a command sent a moment ago may still be. The targets are compared below.
    const pages = paginateListCommands(
      { client: this.client, pageSize: COMMANDS_PAGE_SIZE },
      { Filters: [{ key: 'ExecutionStage', value: 'Executing' }, { key: 'DocumentName', value: RUN_SHELL_SCRIPT }] },
    );
    for await (const page of pages) {
      for (const command of page.Commands ?? []) {
        const sent = command.Parameters?.commands ?? [];
        if (
          command.CommandId &&
          command.Comment === sentComment &&
          (command.InstanceIds ?? []).includes(instanceId) &&
          sent.length === commands.length &&
          sent.every((line, index) => line === commands[index])
        ) {
          return command.CommandId;
        }
      }
    }
    return undefined;
  }

  async getCommandInvocation(commandId: string, instanceId: string): Promise<CommandInvocationRecord | undefined> {
    try {
      const invocation = await this.client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      return {
        commandId: invocation.CommandId ?? commandId,
        instanceId: invocation.InstanceId ?? instanceId,
        // Reported as-is; an unknown status must not read as any terminal one.
        status: invocation.Status ?? '',
        statusDetails: invocation.StatusDetails,
        responseCode: invocation.ResponseCode,
        standardOutput: invocation.StandardOutputContent,
        standardError: invocation.StandardErrorContent,
      };
    } catch (error) {
      // Also SSM's answer for a few seconds right after SendCommand, before the invocation is recorded:
      // "not there (yet)" is for the caller to interpret, not an error.
      if (isAwsError(error, 'InvocationDoesNotExist')) return undefined;
      throw error;
    }
  }
}

function toManagedInstanceRecord(info: InstanceInformation): ManagedInstanceRecord | undefined {
  if (!info.InstanceId) return undefined;
  return {
    instanceId: info.InstanceId,
    ipAddress: info.IPAddress,
    pingStatus: info.PingStatus,
    activationId: info.ActivationId,
    computerName: info.ComputerName,
  };
}

/** Undefined for an activation without an id: it could not be deleted anyway. */
function toActivationRecord(activation: Activation): ActivationRecord | undefined {
  if (!activation.ActivationId) return undefined;
  return {
    activationId: activation.ActivationId,
    tags: Object.fromEntries((activation.Tags ?? []).flatMap((tag) => (tag.Key ? [[tag.Key, tag.Value ?? '']] : []))),
    defaultInstanceName: activation.DefaultInstanceName,
    iamRole: activation.IamRole,
    registrationsCount: activation.RegistrationsCount,
    expired: activation.Expired,
  };
}
