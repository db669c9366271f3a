// The window's keyboard shortcuts: Ctrl+K (Cmd+K) jumps to a conversation, Ctrl+F (Cmd+F)
// searches, Alt+↑/↓ moves to the previous or next conversation, Ctrl+W (Cmd+W) hides the
// window to the tray, as chat apps do (the chat keeps running).
import { useEffect, useRef } from 'react';

export interface Shortcuts {
  switcher: () => void;
  search: () => void;
  step: (by: 1 | -1) => void;
  hide: () => void;
}

export function useShortcuts(shortcuts: Shortcuts): void {
  const latest = useRef(shortcuts);
  latest.current = shortcuts;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const key = e.key.toLowerCase();
      const command = (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey;
      if (command && key === 'w') {
        e.preventDefault();
        latest.current.hide();
      } else if (command && key === 'k') {
        e.preventDefault();
        latest.current.switcher();
      } else if (command && key === 'f') {
        e.preventDefault();
        latest.current.search();
      } else if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        e.preventDefault();
        latest.current.step(e.key === 'ArrowUp' ? -1 : 1);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
