// The emoji picker's grid and search (frimousse: React, unstyled, a grid with arrow keys, Enter
// to choose, labels for screen readers), over the data of lib/emojiData.ts. Loaded lazily with
// the first picker opened (see ReactionPicker): what most sessions never open costs the main
// chunk nothing.
import { EmojiPicker as Picker, type EmojiPickerListCategoryHeaderProps, type EmojiPickerListEmojiProps, type EmojiPickerListRowProps } from 'frimousse';
import { loadEmojiData } from '../lib/emojiData';

const resolve = () => loadEmojiData();

function CategoryHeader({ category, ...props }: EmojiPickerListCategoryHeaderProps) {
  return (
    <div {...props} className="emoji-category">
      {category.label}
    </div>
  );
}

/**
 * ARIA's row and column indexes count from 1; frimousse 0.4.0 gives them from 0, which is not a
 * valid value (axe: aria-valid-attr-value). Each is raised by one here.
 */
const fromOne = (index: unknown) => (typeof index === 'number' ? index + 1 : index === undefined ? undefined : Number(index) + 1);

function Row({ children, ...props }: EmojiPickerListRowProps) {
  return (
    <div {...props} aria-rowindex={fromOne(props['aria-rowindex'])}>
      {children}
    </div>
  );
}

function Emoji({ emoji, ...props }: EmojiPickerListEmojiProps) {
  return (
    <button {...props} aria-colindex={fromOne(props['aria-colindex'])} className="emoji-cell" data-active={emoji.isActive ? 'true' : undefined}>
      {emoji.emoji}
    </button>
  );
}

export default function EmojiPicker({ onPick }: { onPick: (emoji: string) => void }) {
  return (
    <Picker.Root className="emoji-picker" columns={8} resolveEmojiData={resolve} onEmojiSelect={({ emoji }) => onPick(emoji)}>
      <Picker.Search className="emoji-search" aria-label="Search emoji" placeholder="Search emoji" autoFocus />
      <Picker.Viewport className="emoji-viewport">
        <Picker.Loading className="emoji-status">Loading emoji…</Picker.Loading>
        <Picker.Empty className="emoji-status">No emoji found.</Picker.Empty>
        <Picker.List className="emoji-list" components={{ CategoryHeader, Row, Emoji }} />
      </Picker.Viewport>
      <Picker.ActiveEmoji>
        {({ emoji }) => (
          <p className="emoji-preview" aria-hidden="true">
            {emoji ? `${emoji.emoji} ${emoji.label}` : 'Arrow keys to move, Enter to choose'}
          </p>
        )}
      </Picker.ActiveEmoji>
    </Picker.Root>
  );
}
