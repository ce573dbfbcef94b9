/**
 * samconfig.toml points `sam local invoke` at the template `npm run synth` writes; the function id the
 * READMEs' `sam local invoke` commands name, and the env-vars file's keys, must exist in it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { ROOT, buildStack } from './support.js';

const root = fileURLToPath(ROOT);
const samconfig = parse(readFileSync(join(root, 'samconfig.toml'), 'utf8')) as {
  version: number;
  default: { local_invoke: { parameters: { template_file: string; env_vars?: string } } };
};
const parameters = samconfig.default.local_invoke.parameters;

let outdir: string;
let templates: string[];
let template: { Resources: Record<string, { Type: string }> };

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'ehr-samconfig-'));
  const { app } = buildStack({}, { outdir });
  const assembly = app.synth();
  templates = assembly.stacks.map((stack) => basename(stack.templateFullPath));
});

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

test('template_file is the stack template cdk synth writes into cdk.out/', () => {
  expect(samconfig.version).toBe(0.1);
  expect(dirname(parameters.template_file)).toBe('cdk.out');
  expect(templates).toContain(basename(parameters.template_file));
  const path = join(outdir, basename(parameters.template_file));
  expect(existsSync(path)).toBe(true);
  template = JSON.parse(readFileSync(path, 'utf8'));
});

test('every `sam local invoke <FunctionId>` in the docs names a function of that template', () => {
  const docs = ['README.md', 'infra/README.md', 'samconfig.toml'].filter((file) => existsSync(join(root, file)));
  const ids = docs.flatMap((file) => [...readFileSync(join(root, file), 'utf8').matchAll(/sam local invoke\s+(?:-t\s+\S+\s+)?([A-Za-z][A-Za-z0-9]*)/g)].map((match) => match[1]!));
  expect(ids.length).toBeGreaterThan(0);
  for (const id of new Set(ids)) expect({ id, type: template.Resources[id]?.Type }).toEqual({ id, type: 'AWS::Lambda::Function' });
});

test('the env-vars file sets variables for functions of that template, and the events the docs use exist', () => {
  expect(parameters.env_vars).toBeDefined();
  const envVars = JSON.parse(readFileSync(join(root, parameters.env_vars!), 'utf8')) as Record<string, Record<string, string>>;
  for (const id of Object.keys(envVars)) {
    if (id === 'Parameters') continue;
    expect({ id, type: template.Resources[id]?.Type }).toEqual({ id, type: 'AWS::Lambda::Function' });
  }
  const docs = ['README.md', 'infra/README.md', 'samconfig.toml'].map((file) => join(root, file)).filter(existsSync);
  const events = docs.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/-e\s+(events\/[\w.-]+\.json)/g)].map((match) => match[1]!));
  expect(events.length).toBeGreaterThan(0);
  for (const event of events) expect(existsSync(join(root, event))).toBe(true);
});
