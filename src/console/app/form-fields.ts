// Form fields named as the API names them, each with a slot for its own error:
// a refused save shows the API's message and code next to the field it concerns
// (BadUserInputError's `extensions.field`), anything else at the form's foot.
import { ApiError } from './api.js';
import { h, showError } from './dom.js';

/** A label around `control` (its `name` is the API's field name) and the slot for that field's error. */
export function labelled(text: string, control: HTMLInputElement | HTMLSelectElement, className?: string): HTMLLabelElement {
  const slot = h('span', { class: 'field-error', data: { errorFor: control.name } });
  slot.setAttribute('role', 'alert');
  return h('label', { class: className }, text, control, slot);
}

export function input(name: string, type: string, attributes: Record<string, string> = {}): HTMLInputElement {
  const element = h('input', { type });
  element.name = name;
  for (const [attribute, value] of Object.entries(attributes)) element.setAttribute(attribute, value);
  return element;
}

export function select(name: string, options: Array<[value: string, text: string]>): HTMLSelectElement {
  const element = h('select', {}, ...options.map(([value, text]) => h('option', { value }, text)));
  element.name = name;
  return element;
}

/** Shows and clears the errors of one form: next to the field the API names, else in `general`. */
export function fieldErrors(form: HTMLFormElement, general: HTMLElement) {
  return {
    clear(): void {
      general.textContent = '';
      for (const slot of form.querySelectorAll<HTMLElement>('.field-error')) slot.textContent = '';
      for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
    },
    show(error: unknown): void {
      const field = error instanceof ApiError ? error.field : undefined;
      const slot = field ? form.querySelector<HTMLElement>(`.field-error[data-error-for="${CSS.escape(field)}"]`) : null;
      if (!slot) {
        showError(general, error);
        return;
      }
      showError(slot, error);
      form.querySelector(`[name="${CSS.escape(field!)}"]`)?.setAttribute('aria-invalid', 'true');
    },
  };
}

/** An optional number field: empty is null (no limit), anything else the number typed. */
export const optionalNumber = (value: string) => (value.trim() === '' ? null : Number(value));
/** An optional text field: empty is null. */
export const optionalText = (value: string) => (value.trim() === '' ? null : value.trim());
