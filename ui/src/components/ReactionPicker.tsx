// Choosing a reaction: the emoji used recently on this device (a row of buttons, first), then
// every emoji with a search (EmojiPicker, loaded on first open). A dialog: focus stays in it,
// Escape closes it and the focus goes back to where it was.
import { lazy, Suspense, useState } from 'react';
import { recentEmoji } from '../lib/living';
import { Dialog } from './Dialog';

const EmojiPicker = lazy(() => import('./EmojiPicker'));

export function ReactionPicker({ onPick }: { onPick: (emoji: string | null) => void }) {
  const [recent] = useState(() => recentEmoji());
  return (
    <Dialog title="Add a reaction" onClose={() => onPick(null)} className="dialog-panel reaction-picker" testId="reaction-picker">
      <div className="recent-emoji" role="group" aria-label="Recently used">
        {recent.map((emoji) => (
          <button type="button" key={emoji} className="emoji-cell" aria-label={`React with ${emoji}`} onClick={() => onPick(emoji)}>
            {emoji}
          </button>
        ))}
      </div>
      <Suspense fallback={<p className="emoji-status">Loading emoji…</p>}>
        <EmojiPicker onPick={onPick} />
      </Suspense>
    </Dialog>
  );
}
