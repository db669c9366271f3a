// The emoji picker's grid and search (frimousse: React, unstyled, a grid with arrow keys, Enter
// to choose, labels for screen readers), over the data of lib/emojiData.ts. Loaded lazily with
// the first picker opened (see ReactionPicker): what most sessions never open costs the main
// chunk nothing.
import { EmojiPicker as Picker, type EmojiPickerListCategoryHeaderProps, type EmojiPickerListEmojiProps } from 'frimousse';
import { loadEmojiData } from '../lib/emojiData';

const resolve = () => loadEmojiData();

function CategoryHeader({ category, ...props }: EmojiPickerListCategoryHeaderProps) {
  return (
    <div {...props} className="emoji-category">
      {category.label}
    </div>
  );
}

function Emoji({ emoji, ...props }: EmojiPickerListEmojiProps) {
  return (
    <button {...props} className="emoji-cell" data-active={emoji.isActive ? 'true' : undefined}>
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
        <Picker.List className="emoji-list" components={{ CategoryHeader, Emoji }} />
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
