// A modal dialog: labelled by its heading, focus kept inside while open and given back on
// close, Escape (or a click outside it) closes.
import { useId, useRef, type ReactNode } from 'react';
import { useFocusTrap } from '../hooks/useFocusTrap';

interface Props {
  /** The heading; or `labelledBy`, the id of a heading inside `children`. */
  title?: string;
  labelledBy?: string;
  onClose: () => void;
  children: ReactNode;
  className?: string;
  testId?: string;
}

export function Dialog({ title, labelledBy, onClose, children, className = 'dialog-panel', testId }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const id = useId();
  useFocusTrap(ref, onClose);
  return (
    <div
      className="dialog-backdrop"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <div ref={ref} className={className} role="dialog" aria-modal="true" aria-labelledby={labelledBy ?? id} tabIndex={-1} data-testid={testId}>
        {title ? (
          <h2 id={id} className="dialog-title">
            {title}
          </h2>
        ) : null}
        {children}
      </div>
    </div>
  );
}
