// Who said a message and when ("bob · Today 10:05"), as a result list shows it (search, pins).
import { dayLabel, timeLabel } from '../lib/chatState';
import { Name } from './Name';

export function AuthorTime({ username, timestamp }: { username: string; timestamp: string }) {
  return (
    <>
      <strong>
        <Name name={username} />
      </strong>{' '}
      ·{' '}
      <time dateTime={timestamp}>
        {dayLabel(timestamp)} {timeLabel(timestamp)}
      </time>
    </>
  );
}
