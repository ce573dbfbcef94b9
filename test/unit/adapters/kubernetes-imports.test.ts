/**
 * The Kubernetes adapters import @kubernetes/client-node's values from the package's own dist modules instead of
 * its index (which drags exec/attach/cp/port-forward and their dependencies into the bundle, and undici into
 * the reconciler's). This pins those paths: each must exist and export the very object the package index
 * exports, so `instanceof ApiException`, `makeApiClient(CustomObjectsApi)` and the rest behave exactly as with
 * the index import.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as clientNode from '@kubernetes/client-node';
import * as config from '@kubernetes/client-node/dist/config.js';
import * as exception from '@kubernetes/client-node/dist/gen/apis/exception.js';
import * as gen from '@kubernetes/client-node/dist/gen/index.js';
import * as middleware from '@kubernetes/client-node/dist/middleware.js';
import * as patch from '@kubernetes/client-node/dist/patch.js';

test.each([
  ['dist/config.js', 'KubeConfig', config.KubeConfig, clientNode.KubeConfig],
  ['dist/gen/apis/exception.js', 'ApiException', exception.ApiException, clientNode.ApiException],
  ['dist/gen/index.js', 'CoreV1Api', gen.CoreV1Api, clientNode.CoreV1Api],
  ['dist/gen/index.js', 'CustomObjectsApi', gen.CustomObjectsApi, clientNode.CustomObjectsApi],
  ['dist/gen/index.js', 'Observable', gen.Observable, clientNode.Observable],
  ['dist/middleware.js', 'setHeaderOptions', middleware.setHeaderOptions, clientNode.setHeaderOptions],
  ['dist/patch.js', 'PatchStrategy', patch.PatchStrategy, clientNode.PatchStrategy],
])('%s exports the same %s as the package index', (_path, _name, deep, root) => {
  expect(deep).toBeDefined();
  expect(deep).toBe(root);
});

const valueImportsOf = (file: string) =>
  [...readFileSync(join(process.cwd(), 'functions', 'adapters', file), 'utf8').matchAll(/^import (?!type )[^;]*? from '(@kubernetes\/client-node[^']*)';$/gms)]
    .map((match) => match[1])
    .sort();

test.each([
  // The reconciler's reader: the error class only; its index and its KubeConfig import undici.
  ['kubernetes.ts', ['@kubernetes/client-node/dist/gen/apis/exception.js']],
  [
    'kubernetes-teardown.ts',
    [
      '@kubernetes/client-node/dist/config.js',
      '@kubernetes/client-node/dist/gen/index.js',
      '@kubernetes/client-node/dist/middleware.js',
      '@kubernetes/client-node/dist/patch.js',
    ],
  ],
])('%s takes its client-node values from exactly these modules (types may come from the index)', (file, modules) => {
  expect(valueImportsOf(file)).toEqual(modules);
});
