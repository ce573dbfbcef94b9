import { SharedValue } from '../../../functions/shared/shared-value.js';

describe('SharedValue', () => {
  test('concurrent callers share one load; the answer is reused', async () => {
    let loads = 0;
    const shared = new SharedValue(async () => ++loads);
    expect(await Promise.all([shared.get(), shared.get()])).toEqual([1, 1]);
    expect(await shared.get()).toBe(1);
    expect(loads).toBe(1);
  });

  test('a failure is not kept: the next call loads again', async () => {
    let calls = 0;
    const shared = new SharedValue(async () => {
      calls += 1;
      if (calls === 1) throw new Error('first load fails');
      return 'ok';
    });
    await expect(shared.get()).rejects.toThrow('first load fails');
    await expect(shared.get()).resolves.toBe('ok');
  });

  test('a stale value is loaded again; forget drops a fresh one', async () => {
    let loads = 0;
    let fresh = true;
    const shared = new SharedValue(async () => ++loads, () => fresh);
    await shared.get();
    fresh = false;
    expect(await shared.get()).toBe(2);
    fresh = true;
    shared.forget();
    expect(await shared.get()).toBe(3);
    expect(await shared.get()).toBe(3);
  });
});
