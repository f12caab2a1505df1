// Small DOM helpers. Text from the API (labels, messages, model output) only
// ever becomes text nodes, never markup.
type Child = Node | string | number | null | undefined | false;
type Props = { class?: string; title?: string; type?: string; value?: string; disabled?: boolean; data?: Record<string, string>; onclick?: () => void };

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const { class: className, data, onclick, ...rest } = props;
  if (className) element.className = className;
  for (const [name, value] of Object.entries(data ?? {})) element.dataset[name] = value;
  if (onclick) element.addEventListener('click', onclick);
  Object.assign(element, rest);
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child instanceof Node ? child : String(child));
  return element;
}

/** The element the page's markup promises; a missing one is a bug in index.html. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

/** Shows a failure where the user looks: the message and its code. */
export function showError(target: HTMLElement, error: unknown): void {
  const code = (error as { code?: string }).code;
  target.textContent = `${error instanceof Error ? error.message : String(error)}${code ? ` (${code})` : ''}`;
}

export const formatTokens = (value: number) => value.toLocaleString('en-US');
export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  // Calls cost fractions of a cent: show two significant digits under a cent.
  return `$${value > 0 && value < 0.01 ? Number(value.toPrecision(2)) : value.toFixed(2)}`;
}
export const plural = (count: number, noun: string) => `${formatTokens(count)} ${noun}${count === 1 ? '' : 's'}`;
export const formatTime = (iso: string) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });

/** Reads a form's fields by name, empty strings left out. */
export function formFields(form: HTMLFormElement): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of new FormData(form)) if (typeof value === 'string' && value.trim() !== '') fields[name] = value.trim();
  return fields;
}

/**
 * Asks `question` first; then runs `action`, says in `status` what it did (its result) or why it failed, and
 * reloads the list either way.
 */
export async function confirmThen(question: string, action: () => Promise<string>, status: HTMLElement, reload: () => Promise<void>): Promise<void> {
  if (!confirm(question)) return;
  try {
    status.textContent = await action();
  } catch (error) {
    showError(status, error);
  }
  await reload();
}
