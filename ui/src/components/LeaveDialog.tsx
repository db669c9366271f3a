// Leaving a room asks first; the safe answer has the focus. (DMs cannot be left.)
import { useState } from 'react';
import { api, toAppError } from '../api';
import { Dialog } from './Dialog';
import { FormError } from './FormError';

export function LeaveDialog({ room, title, onClose, onLeft }: { room: string; title: string; onClose: () => void; onLeft: (room: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const leave = async () => {
    setBusy(true);
    try {
      await api.leaveRoom(room);
      onLeft(room);
    } catch (e) {
      setError(toAppError(e).message);
      setBusy(false);
    }
  };

  return (
    <Dialog title={`Leave ${title}?`} onClose={onClose} testId="leave">
      <p>You will no longer get its messages. You can join it again from Browse rooms.</p>
      <FormError message={error} />
      <div className="actions">
        <button type="button" onClick={onClose} disabled={busy} data-autofocus>
          Stay
        </button>
        <button type="button" className="danger" onClick={() => void leave()} disabled={busy}>
          Leave
        </button>
      </div>
    </Dialog>
  );
}
