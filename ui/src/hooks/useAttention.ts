// Whether the user can be reading the window: it is focused and visible. Re-checked when the
// window gains or loses focus and when it is hidden or shown.
import { useEffect, useState } from 'react';

function attentive(): boolean {
  return document.hasFocus() && document.visibilityState === 'visible';
}

export function useAttention(): boolean {
  const [now, setNow] = useState(attentive);
  useEffect(() => {
    const check = () => setNow(attentive());
    check();
    window.addEventListener('focus', check);
    window.addEventListener('blur', check);
    document.addEventListener('visibilitychange', check);
    return () => {
      window.removeEventListener('focus', check);
      window.removeEventListener('blur', check);
      document.removeEventListener('visibilitychange', check);
    };
  }, []);
  return now;
}
