// A name someone chose (a person's, a conversation's), shown on one line. It is a bidi isolate:
// a right-to-left override or a right-to-left script in it reorders nothing outside it. Too
// long for its place, it ends with an ellipsis, and shows whole on hover (title); screen
// readers read the whole text, which stays in the page.
export function Name({ name, className }: { name: string; className?: string }) {
  return (
    <bdi className={className ? `name ${className}` : 'name'} title={name}>
      {name}
    </bdi>
  );
}
