/**
 * Local SSM (AWS JSON 1.1, `X-Amz-Target: AmazonSSM.<Action>`, signing name `ssm`): hybrid managed
 * instances (`mi-…`), their activations, and Run Command, over `state.managedInstances`,
 * `state.activations` and `state.commands`.
 *
 * Behaviour follows the AWS Systems Manager API Reference:
 * - "DescribeInstanceInformation": `Filters` (InstanceInformationStringFilter: Key + 1–100 Values) or the
 *   deprecated `InstanceInformationFilterList` (key + valueSet), not both ("Attempting to use
 *   InstanceInformationFilterList and Filters leads to an exception error"); filters are ANDed, values ORed;
 *   unknown keys are `InvalidFilterKey`; `ResourceType` takes exactly one of EC2Instance / ManagedInstance
 *   and `PingStatus` one of Online / ConnectionLost / Inactive, else `InvalidInstanceInformationFilterValue`;
 *   MaxResults 5–50; NextToken, else `InvalidNextToken`. The page says "If you specify a node ID that isn't
 *   valid ... you receive an error": here an id that is not a node id at all (not `i-` + 8/17 or `mi-` + 17
 *   characters) is `InvalidInstanceId`, while a well-formed id that is not (or no longer) registered is
 *   simply absent from the list, which is what callers polling for registration rely on (an empty
 *   InstanceInformationList until the node appears). The default page size (10) is not documented.
 * - "DeregisterManagedInstance": unknown id → `InvalidInstanceId` (the clean-up idiom in FACTS.md treats it
 *   as "already gone"); InstanceId must be `mi-` + 17 hex (else `ValidationException`).
 * - "DescribeActivations": Filters {FilterKey ActivationIds | DefaultInstanceName | IamRole, FilterValues},
 *   unknown key → `InvalidFilter`; MaxResults 1–50; ActivationList items with ActivationId, Tags, counts.
 * - "DeleteActivation": malformed id → `InvalidActivationId`, unknown or already deleted → `InvalidActivation`.
 * - "SendCommand": DocumentName (AWS-RunShellScript here: Parameters.commands required), InstanceIds (≤ 50)
 *   or Targets [{Key: InstanceIds}]; a node that is not registered or not Online is `InvalidInstanceId`
 *   ("Instances [[id]] not in a valid state for account <account>": the agent is not running / not
 *   registered). Returns Command {CommandId, Status Pending, ...}.
 * - "GetCommandInvocation": unknown command or instance not targeted → `InvocationDoesNotExist`; a malformed
 *   CommandId is `InvalidCommandId`; PluginName other than the document's → `InvalidPluginName`.
 * - "ListCommands": CommandId (an unknown one lists nothing), InstanceId (the commands that target it), Filters
 *   (CommandFilter: 1–5 of key InvokedAfter | InvokedBefore | Status | ExecutionStage | DocumentName with one
 *   value; ANDed; an unknown key or value is `InvalidFilterKey` / `InvalidFilterValue`; ExecutionStage is
 *   `Executing` — pending or in progress — or `Complete`), MaxResults 1–50 (default 50), NextToken. A
 *   command's Status is InProgress while any invocation is pending or in progress, else Success when all
 *   succeeded, else Failed.
 *
 * Commands run the moment they are sent (ordinary scripts succeed with exit code 0), except
 * `nodeadm uninstall` (also as `/usr/local/bin/nodeadm uninstall`, `sudo …`), simulated from aws/eks-hybrid
 * `cmd/nodeadm/uninstall/uninstall.go` and `internal/node` (see FACTS.md "Hybrid nodes"). With kubelet running
 * it validates, in nodeadm's order, unless the phase is named in `--skip`/`-s` (`--skip a,b`, `--skip=a,b`,
 * repeated flags):
 * - pod-validation ("Validating if node has been drained..."): the pods bound to the node
 *   (`spec.nodeName`, any phase) other than those a DaemonSet controls (controller owner reference of kind
 *   DaemonSet) and static pods' mirrors (annotation `kubernetes.io/config.mirror`) must be gone, else "only
 *   static pods and pods controlled by daemon-sets can be running on the node. Please move pods to different
 *   node or use --skip pod-validation";
 * - node-validation ("Validating if node has been marked unschedulable..."): the Kubernetes Node must be
 *   cordoned (`spec.unschedulable`; a Node that does not exist passes), else "please drain or cordon node to
 *   mark it unschedulable or use --skip node-validation. node is schedulable".
 * A refusal makes the invocation `Failed` with exit code 1 and the error on stderr; otherwise nodeadm
 * deregisters the managed instance and removes the SSM agent that is running the command, so nothing ever
 * reports back: the invocation stays `InProgress` (it still exists, so GetCommandInvocation keeps answering
 * rather than InvocationDoesNotExist). The Kubernetes Node is left in place, as nodeadm leaves it.
 *
 * A managed instance whose agent is `silent` (scenario `managedInstances[].agent`, control step
 * `silence-agent`) models an agent that is connected but never runs or reports anything: the instance stays
 * registered and Online, SendCommand to it is accepted, and its invocations stay `InProgress` for ever
 * (nothing runs, so a `nodeadm uninstall` sent to it deregisters nothing). The local cloud has no clock that
 * would turn them into `TimedOut`/`Delivery Timed Out`: a caller must apply its own deadline.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  boundedInteger,
  constraintError,
  epochSeconds,
  jsonRpcErrorResponse,
  optionalArray,
  optionalString,
  paginate,
  parseJsonBody,
  requiredString,
  targetAction,
} from './json-rpc.js';
import { AwsError, type AwsRequest, type AwsResponse, type ServiceHandler, jsonResponse } from './protocol.js';
import type { CloudState, LocalActivation, LocalCommand, LocalCommandInvocation, LocalManagedInstance } from './state.js';

const ACTIONS = new Set([
  'DescribeInstanceInformation',
  'DeregisterManagedInstance',
  'DescribeActivations',
  'DeleteActivation',
  'SendCommand',
  'GetCommandInvocation',
  'ListCommands',
]);

/** InstanceId as SSM accepts it: an EC2 instance id or a hybrid managed-instance id. */
const NODE_ID = /^(i-(\w{8}|\w{17})|mi-\w{17})$/;
const MANAGED_INSTANCE_ID = /^mi-[0-9a-f]{17}$/;
const ACTIVATION_ID = /^[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}$/;
const COMMAND_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const LOCAL_AGENT_VERSION = '3.3.1142.0';
/** When scenario-defined nodes "registered" (those registered while the cloud runs get their own time). */
const SCENARIO_REGISTRATION = new Date('2025-01-15T10:00:00Z');
const registeredAt = new WeakMap<LocalManagedInstance, Date>();

/** Fields an activation may carry beyond the scenario's `{id, tags}`. */
type ActivationDetails = LocalActivation & {
  description?: string;
  defaultInstanceName?: string;
  iamRole?: string;
  registrationLimit?: number;
  createdDate?: string;
  expirationDate?: string;
};

// ---------------------------------------------------------------------------------------------------------
// Plain functions (the control endpoints and the handler share them)

/**
 * Registers a hybrid node the way `nodeadm init` does through an SSM hybrid activation: returns its
 * managed-instance id (`mi-` + 17 hex, random unless given). A registration always comes from an
 * activation; without `activationId` the node is counted against the cloud's only activation, if it has
 * exactly one.
 */
export function registerManagedInstance(
  state: CloudState,
  input: { id?: string; ipAddress: string; activationId?: string; computerName?: string },
): string {
  const id = input.id ?? `mi-${randomBytes(9).toString('hex').slice(0, 17)}`;
  if (!MANAGED_INSTANCE_ID.test(id)) throw new Error(`managed instance id ${id} must be mi- and 17 hex digits`);
  if (state.managedInstances.has(id)) throw new Error(`managed instance ${id} is already registered`);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(input.ipAddress)) throw new Error(`ipAddress ${input.ipAddress} is not an IPv4 address`);
  let activationId = input.activationId;
  if (activationId !== undefined && !state.activations.has(activationId)) throw new Error(`activation ${activationId} does not exist`);
  if (activationId === undefined && state.activations.size === 1) activationId = [...state.activations.keys()][0];
  const instance: LocalManagedInstance = {
    id,
    ipAddress: input.ipAddress,
    ...(activationId ? { activationId } : {}),
    pingStatus: 'Online',
    computerName: input.computerName ?? defaultComputerName(state, input.ipAddress),
    agent: 'responsive',
  };
  state.managedInstances.set(id, instance);
  registeredAt.set(instance, new Date());
  return id;
}

/** Deregisters a managed instance (as DeregisterManagedInstance does); unknown → `InvalidInstanceId`. */
export function deregisterManagedInstance(state: CloudState, id: string): { managedInstanceId: string; deregistered: true } {
  if (!state.managedInstances.delete(id)) {
    throw new AwsError('InvalidInstanceId', `Instance Id ${id} is not valid or is not registered in this account.`, 400);
  }
  return { managedInstanceId: id, deregistered: true };
}

/** The node's SSM agent stops answering (control step `silence-agent`); unknown → `InvalidInstanceId`. */
export function silenceAgent(state: CloudState, id: string): { managedInstanceId: string; agent: 'silent' } {
  const instance = state.managedInstances.get(id);
  if (!instance) throw new AwsError('InvalidInstanceId', `Instance Id ${id} is not valid or is not registered in this account.`, 400);
  instance.agent = 'silent';
  return { managedInstanceId: id, agent: 'silent' };
}

/** An EC2-style host name, which is what a hybrid node on EC2 reports as ComputerName. */
function defaultComputerName(state: CloudState, ip: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return state.region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${state.region}.compute.internal`;
}

// ---------------------------------------------------------------------------------------------------------
// DescribeInstanceInformation

const STRING_FILTER_KEYS = new Set(['InstanceIds', 'AgentVersion', 'PingStatus', 'PlatformTypes', 'ActivationIds', 'IamRole', 'ResourceType', 'AssociationStatus']);
const PING_STATUSES = new Set(['Online', 'ConnectionLost', 'Inactive']);
const PLATFORM_TYPES = new Set(['Windows', 'Linux', 'MacOS']);

interface NodeFilter {
  key: string;
  values: string[];
}

function readFilters(body: Record<string, unknown>): NodeFilter[] {
  const filters = optionalArray(body, 'Filters');
  const legacy = optionalArray(body, 'InstanceInformationFilterList', 'instanceInformationFilterList');
  if (filters && filters.length > 0 && legacy && legacy.length > 0) {
    throw new AwsError('ValidationException', 'InstanceInformationFilterList and Filters cannot be used together; use Filters.', 400);
  }
  const read = (list: unknown[], keyField: string, valuesField: string, field: string): NodeFilter[] =>
    list.map((raw, i) => {
      const filter = (raw ?? {}) as Record<string, unknown>;
      const key = requiredString(filter, keyField, `${field}.${i + 1}.member.${keyField}`);
      const values = optionalArray(filter, valuesField) ?? [];
      if (values.length < 1 || values.length > 100) {
        throw constraintError(`${field}.${i + 1}.member.${valuesField}`, values, 'Member must have length between 1 and 100');
      }
      const valid = key.startsWith('tag:') || key === 'tag-key' ? field === 'filters' : STRING_FILTER_KEYS.has(key);
      if (!valid) throw new AwsError('InvalidFilterKey', `The specified key ${key} isn't valid.`, 400);
      return { key, values: values.map(String) };
    });
  if (filters && filters.length > 0) return read(filters, 'Key', 'Values', 'filters');
  if (legacy && legacy.length > 0) return read(legacy, 'key', 'valueSet', 'instanceInformationFilterList');
  return [];
}

function checkFilterValues(filter: NodeFilter): void {
  if (filter.key === 'InstanceIds') {
    const bad = filter.values.find((id) => !NODE_ID.test(id));
    if (bad !== undefined) throw new AwsError('InvalidInstanceId', `Instance Id ${bad} is not a valid node id.`, 400);
  }
  if (filter.key === 'ResourceType') {
    if (filter.values.length !== 1) throw new AwsError('InvalidInstanceInformationFilterValue', 'ResourceType filter may contain only one value.', 400);
    if (!['EC2Instance', 'ManagedInstance'].includes(filter.values[0]!)) {
      throw new AwsError('InvalidInstanceInformationFilterValue', 'ResourceType filter is invalid, valid values are EC2Instance, ManagedInstance', 400);
    }
  }
  if (filter.key === 'PingStatus') {
    const bad = filter.values.find((v) => !PING_STATUSES.has(v));
    if (bad !== undefined) throw new AwsError('InvalidInstanceInformationFilterValue', `PingStatus filter value ${bad} is invalid, valid values are Online, ConnectionLost, Inactive`, 400);
  }
  if (filter.key === 'PlatformTypes') {
    const bad = filter.values.find((v) => !PLATFORM_TYPES.has(v));
    if (bad !== undefined) throw new AwsError('InvalidInstanceInformationFilterValue', `PlatformTypes filter value ${bad} is invalid, valid values are Windows, Linux, MacOS`, 400);
  }
}

function instanceInformation(state: CloudState, mi: LocalManagedInstance) {
  const activation = mi.activationId ? (state.activations.get(mi.activationId) as ActivationDetails | undefined) : undefined;
  const now = new Date();
  const lastPing = mi.pingStatus === 'Online' ? now : new Date(now.getTime() - 15 * 60_000);
  return {
    InstanceId: mi.id,
    PingStatus: mi.pingStatus,
    LastPingDateTime: epochSeconds(lastPing),
    AgentVersion: LOCAL_AGENT_VERSION,
    IsLatestVersion: true,
    PlatformType: 'Linux',
    PlatformName: 'Ubuntu',
    PlatformVersion: '22.04',
    ...(mi.activationId ? { ActivationId: mi.activationId } : {}),
    ...(activation?.iamRole ? { IamRole: activation.iamRole } : {}),
    ...(activation?.defaultInstanceName ? { Name: activation.defaultInstanceName } : {}),
    RegistrationDate: epochSeconds(registeredAt.get(mi) ?? SCENARIO_REGISTRATION),
    ResourceType: 'ManagedInstance',
    IPAddress: mi.ipAddress,
    ComputerName: mi.computerName ?? defaultComputerName(state, mi.ipAddress),
    SourceId: mi.id,
    SourceType: 'AWS::SSM::ManagedInstance',
  };
}

function matches(state: CloudState, mi: LocalManagedInstance, filter: NodeFilter): boolean {
  const iamRole = mi.activationId ? (state.activations.get(mi.activationId) as ActivationDetails | undefined)?.iamRole : undefined;
  const field: Record<string, string | undefined> = {
    InstanceIds: mi.id,
    AgentVersion: LOCAL_AGENT_VERSION,
    PingStatus: mi.pingStatus,
    PlatformTypes: 'Linux',
    ActivationIds: mi.activationId,
    IamRole: iamRole,
    ResourceType: 'ManagedInstance',
    AssociationStatus: undefined, // no State Manager associations here
  };
  // Managed instances carry no tags in this cloud: tag filters match nothing.
  const value = field[filter.key];
  return value !== undefined && filter.values.includes(value);
}

function describeInstanceInformation(body: Record<string, unknown>, state: CloudState): AwsResponse {
  const filters = readFilters(body);
  filters.forEach(checkFilterValues);
  const pageSize = boundedInteger(body, 'MaxResults', 5, 50, 10);
  const selected = [...state.managedInstances.values()].filter((mi) => filters.every((f) => matches(state, mi, f)));
  const { page, nextToken } = paginate(selected, (mi) => mi.id, pageSize, optionalString(body, 'NextToken'), 'InvalidNextToken');
  return jsonResponse(200, { InstanceInformationList: page.map((mi) => instanceInformation(state, mi)), ...(nextToken ? { NextToken: nextToken } : {}) });
}

// ---------------------------------------------------------------------------------------------------------
// Activations

const ACTIVATION_FILTER_KEYS = new Set(['ActivationIds', 'DefaultInstanceName', 'IamRole']);

function describeActivations(body: Record<string, unknown>, state: CloudState): AwsResponse {
  const filters = (optionalArray(body, 'Filters') ?? []).map((raw, i) => {
    const filter = (raw ?? {}) as Record<string, unknown>;
    const key = optionalString(filter, 'FilterKey', `filters.${i + 1}.member.filterKey`);
    if (key === undefined || !ACTIVATION_FILTER_KEYS.has(key)) throw new AwsError('InvalidFilter', `The filter key ${key ?? 'null'} isn't valid.`, 400);
    return { key, values: (optionalArray(filter, 'FilterValues') ?? []).map(String) };
  });
  const pageSize = boundedInteger(body, 'MaxResults', 1, 50, 10);
  const selected = [...state.activations.values()].filter((raw) => {
    const activation = raw as ActivationDetails;
    const field: Record<string, string | undefined> = {
      ActivationIds: activation.id,
      DefaultInstanceName: activation.defaultInstanceName,
      IamRole: activation.iamRole,
    };
    return filters.every((f) => f.values.length === 0 || (field[f.key] !== undefined && f.values.includes(field[f.key]!)));
  });
  const { page, nextToken } = paginate(selected, (a) => a.id, pageSize, optionalString(body, 'NextToken'), 'InvalidNextToken');
  const registrations = (id: string) => [...state.managedInstances.values()].filter((mi) => mi.activationId === id).length;
  const list = page.map((raw) => {
    const a = raw as ActivationDetails;
    const created = a.createdDate ? new Date(a.createdDate) : SCENARIO_REGISTRATION;
    const expires = a.expirationDate ? new Date(a.expirationDate) : new Date(created.getTime() + 30 * 86_400_000);
    return {
      ActivationId: a.id,
      ...(a.description ? { Description: a.description } : {}),
      ...(a.defaultInstanceName ? { DefaultInstanceName: a.defaultInstanceName } : {}),
      ...(a.iamRole ? { IamRole: a.iamRole } : {}),
      RegistrationLimit: a.registrationLimit ?? 1000,
      RegistrationsCount: registrations(a.id),
      ExpirationDate: epochSeconds(expires),
      Expired: expires.getTime() <= Date.now(),
      CreatedDate: epochSeconds(created),
      Tags: Object.entries(a.tags).map(([Key, Value]) => ({ Key, Value })),
    };
  });
  return jsonResponse(200, { ActivationList: list, ...(nextToken ? { NextToken: nextToken } : {}) });
}

function deleteActivation(body: Record<string, unknown>, state: CloudState): AwsResponse {
  const id = requiredString(body, 'ActivationId');
  if (!ACTIVATION_ID.test(id)) throw new AwsError('InvalidActivationId', `The activation ID ${id} isn't valid.`, 400);
  if (!state.activations.delete(id)) {
    throw new AwsError('InvalidActivation', 'Activation ID is not valid. Verify that you entered the correct ActivationId or ActivationCode and try again.', 400);
  }
  return jsonResponse(200, {});
}

// ---------------------------------------------------------------------------------------------------------
// Run Command

const DOCUMENTS: Record<string, { plugin: string; parameters: Set<string>; required: string[] }> = {
  'AWS-RunShellScript': { plugin: 'aws:runShellScript', parameters: new Set(['commands', 'workingDirectory', 'executionTimeout']), required: ['commands'] },
};

function commandsOf(state: CloudState): Map<string, LocalCommand> {
  return (state.commands ??= new Map());
}

/** `--skip` / `-s` values on a `nodeadm uninstall` line (`--skip a,b`, `--skip=a,b`, repeated flags). */
function nodeadmSkips(line: string): string[] {
  const tokens = line.trim().split(/\s+/);
  const skips: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const inline = /^(?:--skip|-s)=(.*)$/.exec(token);
    if (inline) skips.push(...inline[1]!.split(','));
    else if ((token === '--skip' || token === '-s') && tokens[i + 1]) skips.push(...tokens[++i]!.split(','));
  }
  return skips;
}

interface PodView {
  metadata?: { annotations?: Record<string, string>; ownerReferences?: { kind?: string; controller?: boolean }[] };
  spec?: { nodeName?: string };
}

/**
 * nodeadm's `isDrained` filters: pods bound to the node, less those a DaemonSet controls
 * (`metav1.GetControllerOf`: the owner reference with `controller: true`) and static pods' mirrors.
 */
function undrainedPods(state: CloudState, nodeName: string): PodView[] {
  return [...(state.pods?.values() ?? [])]
    .map((pod) => pod as PodView)
    .filter((pod) => pod.spec?.nodeName === nodeName)
    .filter((pod) => pod.metadata?.ownerReferences?.find((ref) => ref.controller === true)?.kind !== 'DaemonSet')
    .filter((pod) => pod.metadata?.annotations?.['kubernetes.io/config.mirror'] === undefined);
}

function run(state: CloudState, command: LocalCommand, instanceId: string): LocalCommandInvocation {
  const startedAt = new Date();
  // A silent agent took the command and will never run it or report back.
  if (state.managedInstances.get(instanceId)?.agent === 'silent') {
    return { instanceId, status: 'InProgress', statusDetails: 'InProgress', responseCode: -1, standardOutput: '', standardError: '', startedAt };
  }
  const script = (command.parameters.commands ?? []).join('\n');
  const uninstall = /\bnodeadm\s+uninstall\b([^\n;&|]*)/.exec(script);
  if (uninstall) {
    const skips = nodeadmSkips(uninstall[1] ?? '');
    let output = 'Loading installed components\nCreating daemon manager..\n';
    const refuse = (error: string): LocalCommandInvocation => ({
      instanceId,
      status: 'Failed',
      statusDetails: 'Failed',
      responseCode: 1,
      standardOutput: output,
      standardError: `Error: ${error}\nfailed to run commands: exit status 1`,
      startedAt,
      endedAt: new Date(),
    });
    if (!skips.includes('pod-validation')) {
      output += 'Validating if node has been drained...\n';
      if (undrainedPods(state, instanceId).length > 0) {
        return refuse('only static pods and pods controlled by daemon-sets can be running on the node. Please move pods to different node or use --skip pod-validation');
      }
    }
    if (!skips.includes('node-validation')) {
      output += 'Validating if node has been marked unschedulable...\n';
      const node = state.nodes.get(instanceId) as { spec?: { unschedulable?: boolean } } | undefined;
      if (node && node.spec?.unschedulable !== true) {
        return refuse('please drain or cordon node to mark it unschedulable or use --skip node-validation. node is schedulable');
      }
    }
    // nodeadm deregisters this managed instance and uninstalls the agent that runs the command.
    deregisterManagedInstance(state, instanceId);
    return { instanceId, status: 'InProgress', statusDetails: 'InProgress', responseCode: -1, standardOutput: '', standardError: '', startedAt };
  }
  return { instanceId, status: 'Success', statusDetails: 'Success', responseCode: 0, standardOutput: '', standardError: '', startedAt, endedAt: new Date() };
}

function sendCommand(body: Record<string, unknown>, state: CloudState): AwsResponse {
  const documentName = requiredString(body, 'DocumentName');
  const document = DOCUMENTS[documentName];
  if (!document) throw new AwsError('InvalidDocument', `Document with name ${documentName} does not exist.`, 400);

  const instanceIds = (optionalArray(body, 'InstanceIds') ?? []).map(String);
  if (instanceIds.length > 50) throw constraintError('instanceIds', instanceIds, 'Member must have length less than or equal to 50');
  const targets = optionalArray(body, 'Targets') ?? [];
  if (targets.length > 5) throw constraintError('targets', targets, 'Member must have length less than or equal to 5');
  if (instanceIds.length > 0 && targets.length > 0) throw new AwsError('InvalidParameters', 'InstanceIds and Targets cannot both be specified.', 400);
  // Of the target keys only InstanceIds resolves here; tag targets select nothing (no tags on managed instances).
  const targeted = [
    ...instanceIds,
    ...targets.flatMap((t) => {
      const target = (t ?? {}) as { Key?: unknown; Values?: unknown };
      return target.Key === 'InstanceIds' && Array.isArray(target.Values) ? target.Values.map(String) : [];
    }),
  ];
  if (instanceIds.length === 0 && targets.length === 0) throw new AwsError('ValidationException', 'Either InstanceIds or Targets must be specified.', 400);

  const rawParameters = (body.Parameters ?? {}) as Record<string, unknown>;
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(rawParameters)) {
    if (!document.parameters.has(name)) throw new AwsError('InvalidParameters', `Parameter "${name}" is not defined for document ${documentName}.`, 400);
    parameters[name] = Array.isArray(value) ? value.map(String) : [String(value)];
  }
  for (const name of document.required) {
    if (!parameters[name] || parameters[name].length === 0) throw new AwsError('InvalidParameters', `Parameter "${name}" is required by document ${documentName}.`, 400);
  }
  const comment = optionalString(body, 'Comment');
  if (comment !== undefined && comment.length > 100) throw constraintError('comment', comment, 'Member must have length less than or equal to 100');
  const timeoutSeconds = boundedInteger(body, 'TimeoutSeconds', 30, 2_592_000, 3600);

  const invalid = [...new Set(targeted)].filter((id) => state.managedInstances.get(id)?.pingStatus !== 'Online');
  if (invalid.length > 0) {
    throw new AwsError('InvalidInstanceId', `Instances [${invalid.map((id) => `[${id}]`).join(', ')}] not in a valid state for account ${state.accountId}`, 400);
  }

  const command: LocalCommand = {
    id: randomUUID(),
    documentName,
    parameters,
    ...(comment !== undefined ? { comment } : {}),
    requestedAt: new Date(),
    timeoutSeconds,
    instanceIds,
    targets,
    invocations: new Map(),
  };
  commandsOf(state).set(command.id, command);
  for (const id of new Set(targeted)) command.invocations.set(id, run(state, command, id));

  // As SendCommand answers: the command was just accepted, nothing has reported yet.
  return jsonResponse(200, { Command: { ...commandJson(command, state), Status: 'Pending', StatusDetails: 'Pending', CompletedCount: 0, ErrorCount: 0 } });
}

const EXECUTING = new Set(['Pending', 'InProgress', 'Delayed']);

function commandStatus(command: LocalCommand): string {
  const statuses = [...command.invocations.values()].map((invocation) => invocation.status);
  if (statuses.some((status) => EXECUTING.has(status))) return 'InProgress';
  return statuses.every((status) => status === 'Success') ? 'Success' : 'Failed';
}

/** A Command object as SendCommand and ListCommands return it. */
function commandJson(command: LocalCommand, state: CloudState) {
  const status = commandStatus(command);
  const invocations = [...command.invocations.values()];
  return {
    CommandId: command.id,
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    Comment: command.comment ?? '',
    ExpiresAfter: epochSeconds(new Date(command.requestedAt.getTime() + command.timeoutSeconds * 1000)),
    Parameters: command.parameters,
    InstanceIds: command.instanceIds,
    Targets: command.targets,
    RequestedDateTime: epochSeconds(command.requestedAt),
    Status: status,
    StatusDetails: status,
    OutputS3Region: state.region,
    OutputS3BucketName: '',
    OutputS3KeyPrefix: '',
    MaxConcurrency: '50',
    MaxErrors: '0',
    TargetCount: command.invocations.size,
    CompletedCount: invocations.filter((invocation) => !EXECUTING.has(invocation.status)).length,
    ErrorCount: invocations.filter((invocation) => !EXECUTING.has(invocation.status) && invocation.status !== 'Success').length,
    DeliveryTimedOutCount: 0,
    ServiceRole: '',
    NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    TimeoutSeconds: command.timeoutSeconds,
  };
}

const COMMAND_FILTER_KEYS = new Set(['InvokedAfter', 'InvokedBefore', 'Status', 'ExecutionStage', 'DocumentName']);
const COMMAND_STATUSES = new Set(['Pending', 'InProgress', 'Success', 'Cancelled', 'Failed', 'TimedOut', 'AccessDenied', 'DeliveryTimedOut', 'ExecutionTimedOut', 'Incomplete', 'NoInstancesInTag', 'LimitExceeded']);

function listCommands(body: Record<string, unknown>, state: CloudState): AwsResponse {
  const commandId = optionalString(body, 'CommandId');
  const instanceId = optionalString(body, 'InstanceId');
  if (instanceId !== undefined && !NODE_ID.test(instanceId)) throw new AwsError('InvalidInstanceId', `Instance Id ${instanceId} is not a valid node id.`, 400);
  const rawFilters = optionalArray(body, 'Filters') ?? [];
  if (rawFilters.length > 5) throw constraintError('filters', rawFilters, 'Member must have length less than or equal to 5');
  const filters = rawFilters.map((raw) => {
    const filter = (raw ?? {}) as Record<string, unknown>;
    const key = typeof filter.key === 'string' ? filter.key : undefined;
    const value = typeof filter.value === 'string' ? filter.value : undefined;
    if (key === undefined || !COMMAND_FILTER_KEYS.has(key)) throw new AwsError('InvalidFilterKey', `The filter key ${key ?? 'null'} isn't valid.`, 400);
    if (value === undefined || value === '') throw new AwsError('InvalidFilterValue', `The filter value for ${key} isn't valid.`, 400);
    const time = key === 'InvokedAfter' || key === 'InvokedBefore' ? Date.parse(value) : undefined;
    if (time !== undefined && Number.isNaN(time)) throw new AwsError('InvalidFilterValue', `The filter value ${value} isn't a valid timestamp.`, 400);
    if (key === 'Status' && !COMMAND_STATUSES.has(value)) throw new AwsError('InvalidFilterValue', `The filter value ${value} isn't valid.`, 400);
    if (key === 'ExecutionStage' && value !== 'Executing' && value !== 'Complete') throw new AwsError('InvalidFilterValue', `The filter value ${value} isn't valid.`, 400);
    return { key, value, time };
  });
  const pageSize = boundedInteger(body, 'MaxResults', 1, 50, 50);
  const selected = [...commandsOf(state).values()].filter((command) => {
    if (commandId !== undefined && command.id !== commandId) return false;
    if (instanceId !== undefined && !command.invocations.has(instanceId)) return false;
    const status = commandStatus(command);
    return filters.every(({ key, value, time }) => {
      switch (key) {
        case 'InvokedAfter':
          return command.requestedAt.getTime() >= time!;
        case 'InvokedBefore':
          return command.requestedAt.getTime() <= time!;
        case 'Status':
          return status === value;
        case 'ExecutionStage':
          return (status === 'InProgress') === (value === 'Executing');
        default:
          return command.documentName === value;
      }
    });
  });
  const { page, nextToken } = paginate(selected, (command) => command.id, pageSize, optionalString(body, 'NextToken'), 'InvalidNextToken');
  return jsonResponse(200, { Commands: page.map((command) => commandJson(command, state)), ...(nextToken ? { NextToken: nextToken } : {}) });
}

/** ISO 8601 as GetCommandInvocation's string-typed date fields carry it. */
const isoString = (date: Date | undefined) => (date ? date.toISOString() : '');

function getCommandInvocation(body: Record<string, unknown>, state: CloudState): AwsResponse {
  const commandId = requiredString(body, 'CommandId');
  const instanceId = requiredString(body, 'InstanceId');
  if (commandId.length !== 36) throw constraintError('commandId', commandId, 'Member must have length between 36 and 36');
  if (!COMMAND_ID.test(commandId)) throw new AwsError('InvalidCommandId', `Command ID ${commandId} isn't valid.`, 400);
  if (!NODE_ID.test(instanceId)) throw new AwsError('InvalidInstanceId', `Instance Id ${instanceId} is not a valid node id.`, 400);
  const command = commandsOf(state).get(commandId);
  const invocation = command?.invocations.get(instanceId);
  if (!command || !invocation) throw new AwsError('InvocationDoesNotExist', "The command ID and managed node ID you specified didn't match any invocations.", 400);
  const plugin = DOCUMENTS[command.documentName]!.plugin;
  const pluginName = optionalString(body, 'PluginName');
  if (pluginName !== undefined && pluginName !== plugin) throw new AwsError('InvalidPluginName', `The plugin name ${pluginName} isn't valid.`, 400);
  const elapsed = invocation.startedAt && invocation.endedAt ? `PT${((invocation.endedAt.getTime() - invocation.startedAt.getTime()) / 1000).toFixed(3)}S` : '';
  return jsonResponse(200, {
    CommandId: command.id,
    InstanceId: instanceId,
    Comment: command.comment ?? '',
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    PluginName: plugin,
    ResponseCode: invocation.responseCode,
    ExecutionStartDateTime: isoString(invocation.startedAt),
    ExecutionElapsedTime: elapsed,
    ExecutionEndDateTime: isoString(invocation.endedAt),
    Status: invocation.status,
    StatusDetails: invocation.statusDetails,
    StandardOutputContent: invocation.standardOutput,
    StandardOutputUrl: '',
    StandardErrorContent: invocation.standardError,
    StandardErrorUrl: '',
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  });
}

// ---------------------------------------------------------------------------------------------------------

export const ssmHandler: ServiceHandler = {
  service: 'ssm',

  actionOf(request: AwsRequest): string {
    return targetAction(request, 'AmazonSSM', ACTIONS);
  },

  handle(request: AwsRequest, action: string, state: CloudState): AwsResponse {
    const body = parseJsonBody(request);
    switch (action) {
      case 'DescribeInstanceInformation':
        return describeInstanceInformation(body, state);
      case 'DeregisterManagedInstance': {
        const id = requiredString(body, 'InstanceId');
        if (!MANAGED_INSTANCE_ID.test(id)) throw constraintError('instanceId', id, 'Member must satisfy regular expression pattern: (^mi-[0-9a-f]{17}$)');
        deregisterManagedInstance(state, id);
        return jsonResponse(200, {});
      }
      case 'DescribeActivations':
        return describeActivations(body, state);
      case 'DeleteActivation':
        return deleteActivation(body, state);
      case 'SendCommand':
        return sendCommand(body, state);
      case 'GetCommandInvocation':
        return getCommandInvocation(body, state);
      case 'ListCommands':
        return listCommands(body, state);
      default:
        throw new AwsError('UnknownOperationException', `Unknown operation ${action}`, 400);
    }
  },

  errorResponse(error: AwsError): AwsResponse {
    return jsonRpcErrorResponse(error);
  },
};
