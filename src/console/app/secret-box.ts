// A secret shown once (a new API key, a webhook's signing secret): in its box
// until Done, or until the person leaves the panel, then gone from the page.
// Copy puts it on the clipboard where the browser allows it, else selects it
// for the person to copy themselves.
import { byId } from './dom.js';

/** The box `#<prefix>-created` with its field, Copy and Done, on the panel `panel`. */
export function secretBox(prefix: string, panel: string) {
  const box = byId(`${prefix}-created`);
  const field = byId<HTMLInputElement>(`${prefix}-secret`);
  const copyStatus = byId(`${prefix}-copy-status`);

  function forget(): void {
    field.value = '';
    copyStatus.textContent = '';
    box.hidden = true;
  }

  async function copy(): Promise<string> {
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

  byId(`${prefix}-copy`).addEventListener('click', async () => void (copyStatus.textContent = await copy()));
  byId(`${prefix}-done`).addEventListener('click', forget);
  byId('tabs').addEventListener('click', (event) => {
    const tab = (event.target as HTMLElement).closest<HTMLElement>('[data-tab]');
    if (tab && tab.dataset.tab !== panel) forget();
  });

  return {
    show(secret: string): void {
      field.value = secret;
      copyStatus.textContent = '';
      box.hidden = false;
    },
    forget,
  };
}
