import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { ReadThrottles } from './readThrottle';

let sent: [string, number][];
let throttles: ReadThrottles;

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  throttles = new ReadThrottles((room, seq) => sent.push([room, seq]), 1000);
});
afterEach(() => vi.useRealTimers());

test('at most once a second per conversation: the first at once, the newest at the end', () => {
  throttles.mark('ops', 3);
  throttles.mark('ops', 4);
  throttles.mark('ops', 5);
  throttles.mark('dev', 9);
  expect(sent).toEqual([['ops', 3], ['dev', 9]]);
  vi.advanceTimersByTime(1000);
  expect(sent).toEqual([['ops', 3], ['dev', 9], ['ops', 5]]);
});

test('after a history reset the newest shown is sent, not a higher seq of the old history', () => {
  throttles.mark('ops', 500);
  throttles.mark('ops', 501);
  throttles.reset();
  throttles.mark('ops', 2);
  vi.advanceTimersByTime(2000);
  expect(sent).toEqual([['ops', 500], ['ops', 2]]);
});

test('conversations gone are forgotten, with what they were about to send', () => {
  throttles.mark('ops', 1);
  throttles.mark('ops', 2);
  throttles.mark('dev', 1);
  throttles.keepOnly((room) => room === 'dev');
  expect(throttles.size).toBe(1);
  vi.advanceTimersByTime(2000);
  expect(sent).toEqual([['ops', 1], ['dev', 1]]);
});
