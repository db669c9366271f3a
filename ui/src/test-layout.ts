// A small layout for the timeline, for the tests that need one (jsdom lays nothing out): each row
// 68 px tall, as rows measure in the window (the list estimates fewer), the list 493 px in view
// and as tall as the virtualizer makes its content, scrolls clamped to that height. And frames,
// as a browser has them: a scroll written is reported on the next frame, not while it is
// written, and so is what a ResizeObserver was given to observe. `frames()` runs them.
import { act } from '@testing-library/react';
import { vi } from 'vitest';

export const ROW_PX = 68;
/** What rows measure now (see `measureRowsAgain`). */
let rowPx = ROW_PX;
export const VIEW_PX = 493;
/** The timeline's padding, above and below its rows. */
const PADDING_PX = 8;

const isLog = (el: Element) => el.getAttribute('role') === 'log';

function contentHeight(log: Element): number {
  const inner = log.querySelector<HTMLElement>(':scope > div');
  return (inner ? Number.parseFloat(inner.style.height) || 0 : 0) + 2 * PADDING_PX;
}

const box = (height: number) => ({ x: 0, y: 0, top: 0, left: 0, bottom: height, right: 800, width: 800, height, toJSON: () => ({}) }) as DOMRect;

/** Elements scrolled since the last frame, and the observers with something to report. */
const scrolled = new Set<HTMLElement>();
const observers = new Set<FrameResizeObserver>();

/** Reports each observed element's size once, on the frame after it is observed. */
class FrameResizeObserver {
  static all = new Set<FrameResizeObserver>();
  private pending = new Set<Element>();
  private watched = new Set<Element>();
  constructor(private readonly callback: ResizeObserverCallback) {
    FrameResizeObserver.all.add(this);
  }
  observe(target: Element) {
    this.pending.add(target);
    this.watched.add(target);
    observers.add(this);
  }
  unobserve(target: Element) {
    this.pending.delete(target);
    this.watched.delete(target);
  }
  disconnect() {
    this.pending.clear();
    this.watched.clear();
  }
  /** Everything it watches has a new size to report. */
  resized() {
    for (const target of this.watched) this.pending.add(target);
  }
  deliver() {
    const entries = [...this.pending].filter((target) => target.isConnected).map((target) => {
      const height = target instanceof HTMLElement ? target.offsetHeight : 0;
      const size = [{ blockSize: height, inlineSize: 800 }];
      return { target, borderBoxSize: size, contentBoxSize: size, devicePixelContentBoxSize: size, contentRect: box(height) } as unknown as ResizeObserverEntry;
    });
    this.pending.clear();
    if (entries.length > 0) this.callback(entries, this as unknown as ResizeObserver);
  }
}

export function layOutTimeline() {
  scrolled.clear();
  observers.clear();
  FrameResizeObserver.all.clear();
  rowPx = ROW_PX;
  // jsdom keeps scrollTop as it is given (test-setup.ts); here it is clamped, and reported later.
  const kept = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'scrollTop');
  const maxTop = (el: Element) => Math.max(0, contentHeight(el) - VIEW_PX);
  vi.stubGlobal('ResizeObserver', FrameResizeObserver);
  vi.spyOn(Element.prototype, 'scrollHeight', 'get').mockImplementation(function scrollHeight(this: Element) {
    return isLog(this) ? contentHeight(this) : 0;
  });
  vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockImplementation(function clientHeight(this: HTMLElement) {
    return isLog(this) ? VIEW_PX : 600;
  });
  // The virtualizer measures rows by their offsetHeight.
  vi.spyOn(HTMLElement.prototype, 'offsetHeight', 'get').mockImplementation(function offsetHeight(this: HTMLElement) {
    if (this.dataset.index !== undefined) return rowPx;
    return isLog(this) ? VIEW_PX : 600;
  });
  vi.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockImplementation(function getBoundingClientRect(this: HTMLElement) {
    if (this.dataset.index !== undefined) return box(rowPx);
    return box(isLog(this) ? VIEW_PX : 600);
  });
  vi.spyOn(HTMLElement.prototype, 'scrollTop', 'set').mockImplementation(function scrollTop(this: HTMLElement, value: number) {
    const top = isLog(this) ? Math.min(Math.max(0, value), maxTop(this)) : value;
    if (top === this.scrollTop) return;
    kept?.set?.call(this, top);
    scrolled.add(this);
  });
  vi.spyOn(HTMLElement.prototype, 'scrollTo').mockImplementation(function scrollTo(this: HTMLElement, options?: ScrollToOptions | number, y?: number) {
    const top = typeof options === 'number' ? y : options?.top;
    if (typeof top === 'number') this.scrollTop = top;
  } as typeof HTMLElement.prototype.scrollTo);
}

/** Runs `count` frames: the scrolls written since the last are reported (once per element, as
 * browsers coalesce them), then what the observers observed; a moment passes between frames. */
export async function frames(count = 12) {
  for (let i = 0; i < count; i += 1) {
    await act(async () => {
      const elements = [...scrolled];
      scrolled.clear();
      for (const el of elements) el.dispatchEvent(new Event('scroll'));
      const due = [...observers];
      observers.clear();
      for (const observer of due) observer.deliver();
      await new Promise((r) => setTimeout(r, 16));
    });
  }
}

/**
 * The rows on screen measure `px` from now on, and the virtualizer hears it at once, before the
 * next frame (as it does when rows it drew while scrolling are laid out).
 */
export function measureRowsAgain(px: number) {
  rowPx = px;
  act(() => {
    for (const observer of FrameResizeObserver.all) {
      observer.resized();
      observer.deliver();
    }
  });
}

/** How far the view is from the end of the timeline, in px. */
export function belowView(log: HTMLElement): number {
  return log.scrollHeight - log.scrollTop - log.clientHeight;
}
