// Copying a secret shown once: the clipboard API where the browser allows it,
// else the field selected for the person to copy themselves.

/** Copies `field`'s value; returns what to tell the person. */
export async function copyField(field: HTMLInputElement): Promise<string> {
  try {
    await navigator.clipboard.writeText(field.value);
    return 'Copied';
  } catch {
    // No clipboard permission (or no secure context): select the value so the person copies it themselves.
  }
  field.focus();
  field.select();
  return document.execCommand('copy') ? 'Copied' : 'The browser refused to copy: the value is selected, press Ctrl+C (⌘C on a Mac)';
}
