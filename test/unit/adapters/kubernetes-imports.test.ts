/**
 * functions/adapters/kubernetes.ts imports @kubernetes/client-node's values from the package's own dist modules
 * instead of its index (which drags exec/attach/cp/port-forward and their dependencies into the bundle). This pins
 * those paths: each must exist and export the very object the package index exports, so `instanceof
 * ApiException`, `makeApiClient(CustomObjectsApi)` and the rest behave exactly as with the index import.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as clientNode from '@kubernetes/client-node';
import * as config from '@kubernetes/client-node/dist/config.js';
import * as gen from '@kubernetes/client-node/dist/gen/index.js';
import * as middleware from '@kubernetes/client-node/dist/middleware.js';
import * as patch from '@kubernetes/client-node/dist/patch.js';

const ADAPTER = join(process.cwd(), 'functions', 'adapters', 'kubernetes.ts');

test.each([
  ['dist/config.js', 'KubeConfig', config.KubeConfig, clientNode.KubeConfig],
  ['dist/gen/index.js', 'ApiException', gen.ApiException, clientNode.ApiException],
  ['dist/gen/index.js', 'CoreV1Api', gen.CoreV1Api, clientNode.CoreV1Api],
  ['dist/gen/index.js', 'CustomObjectsApi', gen.CustomObjectsApi, clientNode.CustomObjectsApi],
  ['dist/gen/index.js', 'Observable', gen.Observable, clientNode.Observable],
  ['dist/middleware.js', 'setHeaderOptions', middleware.setHeaderOptions, clientNode.setHeaderOptions],
  ['dist/patch.js', 'PatchStrategy', patch.PatchStrategy, clientNode.PatchStrategy],
])('%s exports the same %s as the package index', (_path, _name, deep, root) => {
  expect(deep).toBeDefined();
  expect(deep).toBe(root);
});

test('the adapter takes its client-node values from exactly these modules (types may come from the index)', () => {
  const source = readFileSync(ADAPTER, 'utf8');
  const valueImports = [...source.matchAll(/^import (?!type )[^;]*? from '(@kubernetes\/client-node[^']*)';$/gms)].map((match) => match[1]);
  expect(valueImports.sort()).toEqual([
    '@kubernetes/client-node/dist/config.js',
    '@kubernetes/client-node/dist/gen/index.js',
    '@kubernetes/client-node/dist/middleware.js',
    '@kubernetes/client-node/dist/patch.js',
  ]);
});
