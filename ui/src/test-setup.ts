import '@testing-library/jest-dom/vitest';

// jsdom lays nothing out: every element measures 0×0, so a virtualized list would show no
// rows. Give elements a window-sized box (rows then measure the same, which is fine here).
Object.defineProperties(HTMLElement.prototype, {
  offsetHeight: { configurable: true, get: () => 600 },
  offsetWidth: { configurable: true, get: () => 800 },
  clientHeight: { configurable: true, get: () => 600 },
  clientWidth: { configurable: true, get: () => 800 },
});
HTMLElement.prototype.getBoundingClientRect = function getBoundingClientRect() {
  return { x: 0, y: 0, top: 0, left: 0, bottom: 600, right: 800, width: 800, height: 600, toJSON: () => ({}) } as DOMRect;
};
const scrollTops = new WeakMap<HTMLElement, number>();
Object.defineProperty(HTMLElement.prototype, 'scrollTop', {
  configurable: true,
  get(this: HTMLElement) {
    return scrollTops.get(this) ?? 0;
  },
  set(this: HTMLElement, value: number) {
    scrollTops.set(this, value);
  },
});
// Scrolling moves scrollTop and tells listeners, as a browser would.
HTMLElement.prototype.scrollTo = function scrollTo(this: HTMLElement, options?: ScrollToOptions | number, y?: number) {
  const top = typeof options === 'number' ? y : options?.top;
  if (typeof top === 'number') {
    this.scrollTop = top;
    this.dispatchEvent(new Event('scroll'));
  }
} as typeof HTMLElement.prototype.scrollTo;
