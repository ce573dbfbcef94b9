/**
 * The `npm start` story end to end: the real reconcile Lambda handler, the real SDK clients, the local
 * cloud over loopback HTTP(S). Once in-process (the narration is checked line by line) and once as the
 * subprocess a reader of the README would run.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { playStory } from '../localcloud/demo.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** playStory writes the cloud's env into process.env (it must, for the handler's SDK clients): put it back. */
const savedEnv = { ...process.env };
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

test('the story converges: both invariants hold, stale CIDR gone, replacement routed, hand-made route kept', async () => {
  const lines: string[] = [];
  const result = await playStory((line) => lines.push(line));
  const text = lines.join('\n');

  expect(result.problems).toEqual([]);
  expect(result.calls).toBeGreaterThan(0);
  expect(text).toContain('Both invariants hold');

  // The narration is split at the step headings; each block ends with the tables after that step.
  const steps = text.split('\n── ');
  const afterStep = (prefix: string) => {
    const block = steps.find((s) => s.startsWith(prefix));
    if (!block) throw new Error(`no step "${prefix}" in:\n${text}`);
    return block;
  };

  // 1. first run: every node CIDR routed in every table (printed once per identical table set).
  const first = afterStep('1.');
  expect(first).toMatch(/status ok; create 9, replace 0, delete 0, keep 0, source\/dest fixes 3/);
  for (const cidr of ['10.30.0.0/24', '10.30.1.0/24', '10.30.2.0/24']) expect(first).toContain(cidr);

  // 2. node 2 terminated: its 10.30.1.0/24 route is deleted from all three tables.
  const second = afterStep('2.');
  expect(second).toMatch(/delete 3/);
  const secondTables = second.slice(second.indexOf('⇢'));
  expect(secondTables).not.toContain('10.30.1.0/24');
  expect(secondTables).toContain('10.30.0.0/24');

  // 3. the replacement's 10.30.3.0/24 is routed to its ENI.
  const third = afterStep('3.');
  expect(third).toMatch(/10\.30\.3\.0\/24\s+→ eni-0a1b2c3d4e5f60004 \(i-0a1b2c3d4e5f60004\)/);
  expect(third).not.toMatch(/BLACKHOLE/);

  // 4. the periodic run repairs the hijacked route and keeps the person's 100.64.0.0/10 route.
  const fourth = afterStep('4.');
  expect(fourth).toMatch(/Scheduled Event \(periodic run\): status ok; create 0, replace 1, delete 0/);
  const finalTables = fourth.slice(fourth.lastIndexOf('⇢'));
  expect(finalTables).toMatch(/100\.64\.0\.0\/10\s+→ tgw-0a1b2c3d4e5f60718/);
  expect(finalTables).toMatch(/10\.30\.0\.0\/24\s+→ eni-0a1b2c3d4e5f60001 \(i-0a1b2c3d4e5f60001\)/);
  expect(finalTables).not.toContain('10.30.1.0/24');
  expect(finalTables).toContain('src/dst check off');
  expect(finalTables).not.toContain('src/dst check ON');
  // The whole story in-process, the handler's first imports included: seconds on a loaded machine.
}, 30_000);

test('`npm start` (a subprocess through npm) exits 0 and says both invariants hold', async () => {
  // Without the cloud env an outer test may have left behind: the demo starts its own cloud.
  const env = { ...savedEnv };
  for (const key of ['AWS_ENDPOINT_URL', 'ROUTE_TABLE_TAG', 'ROUTE_TABLE_IDS', 'DEMO_VERBOSE']) delete env[key];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile('npm', ['start'], { cwd: REPO_ROOT, env, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
  if (code !== 0) throw new Error(`npm start exited ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  expect(stdout).toContain('Both invariants hold');
  expect(stdout).toMatch(/10\.30\.3\.0\/24\s+→ eni-0a1b2c3d4e5f60004/);
}, 35_000);
