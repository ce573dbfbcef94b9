/**
 * The teardown state machine's definition as JSON, taken from the synthesized template: what the local runner
 * (`npm run -s cli -- teardown --local`, functions/cli/local-teardown.ts) interprets and what the infra tests
 * walk. It is the deployed definition, not a copy: `synthesizeTeardownDefinition` builds the real stack with
 * the same code as `cdk synth` (infra/build-app.ts), and only the CloudFormation intrinsics in the definition
 * string are replaced by fixed, syntactically valid placeholders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUnbundledApp } from './build-app.js';

/** What the pseudo parameters stand for in the placeholders (any valid values would do; these are fixed). */
export const PLACEHOLDER_PARTITION = 'aws';
export const PLACEHOLDER_REGION = 'us-east-1';
export const PLACEHOLDER_ACCOUNT = '123456789012';

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': PLACEHOLDER_PARTITION,
  'AWS::Region': PLACEHOLDER_REGION,
  'AWS::AccountId': PLACEHOLDER_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** The placeholder for a Lambda function of the template, by logical id. */
export const placeholderFunctionArn = (logicalId: string) =>
  `arn:${PLACEHOLDER_PARTITION}:lambda:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}:function:${logicalId}`;

export interface TeardownDefinition {
  /** The Amazon States Language definition. */
  definition: Record<string, unknown>;
  /** The Resource of the Tasks: the placeholder ARN of the one Lambda function the definition invokes. */
  taskFunctionArn: string;
}

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

class DefinitionResolver {
  readonly functionArns = new Set<string>();

  constructor(
    private readonly resources: Record<string, TemplateResource>,
    private readonly where: string,
  ) {}

  private fail(value: unknown, why: string): never {
    throw new Error(`cannot resolve ${JSON.stringify(value)} in the DefinitionString of ${this.where}: ${why}`);
  }

  private lambdaFunction(logicalId: string, value: unknown): string {
    const resource = this.resources[logicalId];
    if (!resource) this.fail(value, `no resource ${logicalId} in the template`);
    if (resource.Type !== 'AWS::Lambda::Function') this.fail(value, `${logicalId} is a ${resource.Type}, not a Lambda function`);
    return logicalId;
  }

  /** `Ref` of a pseudo parameter (a plausible literal) or of a Lambda function (its name: the logical id). */
  private ref(name: unknown, value: unknown): string {
    if (typeof name !== 'string') this.fail(value, 'Ref takes a name');
    const pseudo = PSEUDO_PARAMETERS[name];
    if (pseudo !== undefined) return pseudo;
    return this.lambdaFunction(name, value);
  }

  /** `Fn::GetAtt` of a Lambda function's Arn: the placeholder ARN. */
  private getAtt(logicalId: unknown, attribute: unknown, value: unknown): string {
    if (typeof logicalId !== 'string' || attribute !== 'Arn') this.fail(value, 'only the Arn of a Lambda function can be resolved');
    const arn = placeholderFunctionArn(this.lambdaFunction(logicalId, value));
    this.functionArns.add(arn);
    return arn;
  }

  /** `Fn::Sub`: `${AWS::Region}`, `${Id}`, `${Id.Arn}` and the variables of the two-argument form. */
  private sub(argument: unknown, value: unknown): string {
    const [template, variables] = Array.isArray(argument) ? argument : [argument, {}];
    if (typeof template !== 'string' || variables === null || typeof variables !== 'object') this.fail(value, 'Fn::Sub takes a string and an optional map');
    const resolvedVariables = Object.fromEntries(Object.entries(variables as Record<string, unknown>).map(([name, inner]) => [name, this.string(inner)]));
    return template.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
      if (name in resolvedVariables) return resolvedVariables[name]!;
      const dot = name.indexOf('.');
      return dot < 0 ? this.ref(name, value) : this.getAtt(name.slice(0, dot), name.slice(dot + 1), value);
    });
  }

  /** A string or an intrinsic that yields one. */
  string(value: unknown): string {
    if (typeof value === 'string') return value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(value, 'not a string or an intrinsic function');
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length !== 1) this.fail(value, 'not an intrinsic function');
    const [name, argument] = entries[0]!;
    switch (name) {
      case 'Ref':
        return this.ref(argument, value);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(argument) ? argument : typeof argument === 'string' ? argument.split('.') : [];
        return this.getAtt(logicalId, attribute, value);
      }
      case 'Fn::Join': {
        if (!Array.isArray(argument) || typeof argument[0] !== 'string' || !Array.isArray(argument[1])) this.fail(value, 'Fn::Join takes [separator, [parts]]');
        return (argument[1] as unknown[]).map((part) => this.string(part)).join(argument[0]);
      }
      case 'Fn::Sub':
        return this.sub(argument, value);
      default:
        return this.fail(value, `${name} is not supported`);
    }
  }
}

/**
 * The one `AWS::StepFunctions::StateMachine` of a synthesized template, its `DefinitionString` resolved into
 * JSON: every function-ARN intrinsic becomes `arn:aws:lambda:us-east-1:123456789012:function:<LogicalId>`.
 * Throws, naming what, on anything else it cannot resolve (another resource's attribute, a parameter, a
 * condition function), on no or several state machines, and on a definition invoking no or several functions.
 */
export function teardownDefinitionFromTemplate(template: unknown): TeardownDefinition {
  const resources = (template as { Resources?: Record<string, TemplateResource> } | null)?.Resources;
  if (!resources || typeof resources !== 'object') throw new Error('not a CloudFormation template: no Resources');
  const machines = Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected exactly one AWS::StepFunctions::StateMachine in the template, found ${machines.length}`);
  const [logicalId, machine] = machines[0]!;
  const definitionString = machine.Properties?.DefinitionString;
  if (definitionString === undefined) throw new Error(`state machine ${logicalId} has no DefinitionString (a DefinitionS3Location or Definition cannot be resolved)`);

  const resolver = new DefinitionResolver(resources, `state machine ${logicalId}`);
  const text = resolver.string(definitionString);
  let definition: unknown;
  try {
    definition = JSON.parse(text);
  } catch (error) {
    throw new Error(`the DefinitionString of state machine ${logicalId} is not JSON once resolved: ${(error as Error).message}`);
  }
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) throw new Error(`the definition of state machine ${logicalId} is not a JSON object`);
  const functionArns = [...resolver.functionArns];
  if (functionArns.length !== 1) throw new Error(`the definition of state machine ${logicalId} invokes ${functionArns.length} Lambda functions (${functionArns.join(', ') || 'none'}), expected one`);
  return { definition: definition as Record<string, unknown>, taskFunctionArn: functionArns[0]! };
}

/**
 * Synthesizes the real EksHybridRoutesStack in process, from cdk.json's context plus `overrides` (an override
 * of `undefined` removes a key), without bundling the Lambdas, and returns its teardown definition.
 */
export function synthesizeTeardownDefinition(overrides: Record<string, unknown> = {}): TeardownDefinition {
  const outdir = mkdtempSync(join(tmpdir(), 'ehr-teardown-definition-'));
  try {
    const { app, stack } = buildUnbundledApp(overrides, { outdir });
    const template = app.synth().getStackArtifact(stack.artifactId).template as unknown;
    return teardownDefinitionFromTemplate(template);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
