// Dates as the timeline shows them: a day's separator ("Today", "Yesterday", "Tuesday, 3
// March 2026") and a message's time. Building the rows labels every item, so the day of each is
// compared as a number, and today's and yesterday's are worked out once per build.
import type { TimelineItem } from './timeline';

/** When an item happened: a message's timestamp, a line's time. */
export function itemDate(item: TimelineItem): string {
  return item.kind === 'message' ? item.message.timestamp : item.at;
}

function dayNumber(d: Date): number {
  return d.getFullYear() * 10_000 + d.getMonth() * 100 + d.getDate();
}

/** Labels days relative to `now`; the same day asked again costs no new string. */
export function dayLabeller(now = new Date()): (iso: string) => string {
  const today = dayNumber(now);
  const before = new Date(now);
  before.setDate(now.getDate() - 1);
  const yesterday = dayNumber(before);
  let lastDay = NaN;
  let lastLabel = '';
  return (iso) => {
    const date = new Date(iso);
    const day = dayNumber(date);
    if (day === lastDay) return lastLabel;
    lastDay = day;
    if (day === today) lastLabel = 'Today';
    else if (day === yesterday) lastLabel = 'Yesterday';
    else lastLabel = date.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
    return lastLabel;
  };
}

/** "Tuesday, 3 March" style label for a day separator. */
export function dayLabel(iso: string, now = new Date()): string {
  return dayLabeller(now)(iso);
}

export function timeLabel(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
