// The composer on its own: where the caret is after a mention is chosen.
import { act, cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { Composer } from './Composer';

beforeEach(() => {
  mockIPC(() => null, { shouldMockEvents: true });
});
afterEach(async () => {
  cleanup();
  await new Promise((r) => setTimeout(r, 0));
  clearMocks();
  vi.restoreAllMocks();
});

function renderComposer() {
  render(<Composer room="ops" title="#ops" initialDraft="" people={['marco', 'Mary Jane']} onDraft={() => undefined} onSent={() => undefined} onError={() => undefined} />);
  return screen.getByRole('combobox', { name: 'Message' }) as HTMLTextAreaElement;
}

describe('choosing a mention', () => {
  test('what is typed right after it follows it, even before the next animation frame', async () => {
    // A busy machine: no animation frame runs until the test says so.
    const frames: FrameRequestCallback[] = [];
    vi.spyOn(window, 'requestAnimationFrame').mockImplementation((cb) => frames.push(cb));
    const user = userEvent.setup();
    const box = renderComposer();
    await user.type(box, 'hi @mar');
    await user.keyboard('{Enter}');
    expect(box.selectionStart).toBe('hi @marco '.length);
    await user.keyboard('and');
    // The frames that were due run late, then the person types on.
    act(() => frames.splice(0).forEach((cb) => cb(performance.now())));
    await user.keyboard(' more');
    expect(box).toHaveValue('hi @marco and more');
    expect(box.selectionStart).toBe(box.value.length);
  });

  test('chosen in the middle of the text, the caret stays right after the name', async () => {
    const user = userEvent.setup();
    const box = renderComposer();
    await user.type(box, 'hi there');
    await user.keyboard('{ArrowLeft>5/}@mar{Enter}x');
    expect(box).toHaveValue('hi @marco xthere');
  });
});
