import { useEffect, useState } from 'react';
import type { ConnectionStatus } from '../types';

/** The connection's state, announced to screen readers; hidden while all is well. */
export function Banner({ status, onRetry }: { status: ConnectionStatus; onRetry: () => void }) {
  const [now, setNow] = useState(() => Date.now());
  const [since, setSince] = useState(() => Date.now());
  useEffect(() => {
    setSince(Date.now());
    setNow(Date.now());
    if (status.state !== 'reconnecting') return undefined;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [status]);

  switch (status.state) {
    case 'connected':
      return status.compat ? (
        <div className="banner banner-info" role="status">
          Connected to a basic server: no history, and delivery is confirmed by the echo.
        </div>
      ) : null;
    case 'connecting':
      return (
        <div className="banner banner-info" role="status">
          Connecting…
        </div>
      );
    case 'reconnecting': {
      const left = Math.max(0, Math.ceil((status.delayMs - (now - since)) / 1000));
      return (
        <div className="banner banner-warn" role="status">
          <span>
            Offline: {status.reason}. Reconnecting {left > 0 ? `in ${left} s` : 'now'}…
          </span>
          <button type="button" onClick={onRetry}>
            Retry now
          </button>
        </div>
      );
    }
    case 'disconnected': {
      const token = status.cause.kind === 'invalidToken';
      return (
        <div className="banner banner-error" role="alert">
          <span>{token ? `This server needs an access token: ${status.reason}.` : `Disconnected: ${status.reason}.`}</span>
          <button type="button" onClick={onRetry}>
            Retry
          </button>
        </div>
      );
    }
  }
}
