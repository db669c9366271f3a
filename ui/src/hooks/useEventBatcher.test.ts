import { act, renderHook } from '@testing-library/react';
import { expect, test } from 'vitest';
import { useEventBatcher } from './useEventBatcher';

test('a burst is applied once, in order; later events make a new batch', async () => {
  const batches: number[][] = [];
  const { result } = renderHook(() => useEventBatcher<number>((batch) => batches.push(batch), 10));
  act(() => {
    for (let i = 0; i < 100; i += 1) result.current(i);
  });
  expect(batches).toEqual([]);
  await act(() => new Promise((resolve) => setTimeout(resolve, 30)));
  expect(batches).toHaveLength(1);
  expect(batches[0]).toEqual(Array.from({ length: 100 }, (_, i) => i));
  act(() => result.current(100));
  await act(() => new Promise((resolve) => setTimeout(resolve, 30)));
  expect(batches).toEqual([batches[0], [100]]);
});
