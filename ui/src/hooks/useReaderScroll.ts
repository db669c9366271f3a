// Tells the scrolls the reader makes from those the list makes itself. The reader's are the ones
// their input causes: the wheel, a touch, the keys of the focused timeline, a drag of its
// scrollbar. Where a scroll of the list's own lands says nothing about the reader (rows measured
// after it move the end, and one that lands short is not the reader leaving), so only input
// decides whether the list follows the newest message.
import { useEffect, useRef, type RefObject } from 'react';

/** How long after the reader's input the scrolls that follow count as theirs. */
const INPUT_MS = 1000;
const KEYS_UP = new Set(['ArrowUp', 'PageUp', 'Home']);
const KEYS_DOWN = new Set(['ArrowDown', 'PageDown', 'End', ' ']);

export interface ReaderHandlers {
  /** The reader moved the view up (a wheel, a key, a touch, the scrollbar dragged up). */
  onUp: () => void;
  /** The reader took the view in hand, in any direction. */
  onInput: () => void;
}

/**
 * Listens to the reader's input on `scroller`. Returns what the list's scroll handler asks:
 * whether the scroll just seen is the reader's, given that it moved the view up or not (while
 * the scrollbar is dragged, every scroll is, and one up is reported as `onUp`).
 */
export function useReaderScroll(scroller: RefObject<HTMLElement | null>, handlers: ReaderHandlers) {
  const latest = useRef(handlers);
  latest.current = handlers;
  const lastInput = useRef(Number.NEGATIVE_INFINITY);
  const dragging = useRef(false);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const input = (up: boolean) => {
      lastInput.current = performance.now();
      latest.current.onInput();
      // Up where there is nowhere to go (the top, or nothing to scroll) moves nothing.
      if (up && el.scrollTop > 0) latest.current.onUp();
    };
    const wheel = (e: WheelEvent) => {
      if (!e.ctrlKey && e.deltaY !== 0) input(e.deltaY < 0);
    };
    const key = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (KEYS_UP.has(e.key) || (e.key === ' ' && e.shiftKey)) input(true);
      else if (KEYS_DOWN.has(e.key)) input(false);
    };
    let touchY: number | null = null;
    const touchStart = (e: TouchEvent) => {
      touchY = e.touches[0]?.clientY ?? null;
    };
    const touchMove = (e: TouchEvent) => {
      const y = e.touches[0]?.clientY;
      if (y === undefined || touchY === null || y === touchY) return;
      // A finger moving down pulls the content down: the view goes up.
      input(y > touchY);
      touchY = y;
    };
    // A press on the scroller itself, not on a row: its scrollbar.
    const pointerDown = (e: PointerEvent) => {
      if (e.target !== el) return;
      dragging.current = true;
      lastInput.current = performance.now();
      latest.current.onInput();
    };
    const pointerUp = () => {
      dragging.current = false;
    };
    el.addEventListener('wheel', wheel, { passive: true });
    el.addEventListener('keydown', key);
    el.addEventListener('touchstart', touchStart, { passive: true });
    el.addEventListener('touchmove', touchMove, { passive: true });
    el.addEventListener('pointerdown', pointerDown);
    window.addEventListener('pointerup', pointerUp);
    window.addEventListener('pointercancel', pointerUp);
    return () => {
      el.removeEventListener('wheel', wheel);
      el.removeEventListener('keydown', key);
      el.removeEventListener('touchstart', touchStart);
      el.removeEventListener('touchmove', touchMove);
      el.removeEventListener('pointerdown', pointerDown);
      window.removeEventListener('pointerup', pointerUp);
      window.removeEventListener('pointercancel', pointerUp);
    };
  }, [scroller]);

  return (movedUp: boolean): boolean => {
    if (dragging.current) {
      lastInput.current = performance.now();
      if (movedUp) latest.current.onUp();
      return true;
    }
    return performance.now() - lastInput.current < INPUT_MS;
  };
}
