import { readFileSync } from 'node:fs';

test('tests run on the Node major the project pins (the Lambda runtime major), not the machine default', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string };
    devDependencies: Record<string, string>;
  };
  const pinned = /\^(\d+)/.exec(pkg.devDependencies.node ?? '')?.[1];
  expect(pinned).toBeDefined();
  expect(pkg.engines.node).toContain(`>=${pinned}`);
  expect(process.versions.node.split('.')[0]).toBe(pinned);
});
