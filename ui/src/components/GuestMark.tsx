/** The small "guest" pill after a name nobody owns: anyone could be using it. */
export function GuestMark() {
  return (
    <span className="guest-mark" title="Nobody owns this name: anyone could use it">
      guest
    </span>
  );
}
