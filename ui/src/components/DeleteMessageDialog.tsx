// Deleting one's message asks first; the safe answer has the focus.
import { Dialog } from './Dialog';

export function DeleteMessageDialog({ onAnswer }: { onAnswer: (yes: boolean) => void }) {
  return (
    <Dialog title="Delete this message?" onClose={() => onAnswer(false)} testId="delete-message">
      <p>Everyone will see “message deleted” where it was. Its text is gone for good.</p>
      <div className="actions">
        <button type="button" onClick={() => onAnswer(false)} data-autofocus>
          Keep it
        </button>
        <button type="button" className="danger" onClick={() => onAnswer(true)}>
          Delete
        </button>
      </div>
    </Dialog>
  );
}
