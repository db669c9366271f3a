// A dialog form's buttons: Cancel, and the submit button (disabled while the form is busy).
export function FormActions({ submitLabel, busy, onCancel }: { submitLabel: string; busy: boolean; onCancel: () => void }) {
  return (
    <div className="actions">
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" disabled={busy}>
        {submitLabel}
      </button>
    </div>
  );
}
