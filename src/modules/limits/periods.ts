// Days and months are counted in the workspace's time zone: a counter row is
// keyed by the period it belongs to, so a new day is simply a new row.

const formatters = new Map<string, Intl.DateTimeFormat>();

/** "2026-11-22": the calendar day of `at` in `timeZone`. */
export function dayKey(at: Date, timeZone: string): string {
  let format = formatters.get(timeZone);
  if (!format) {
    // en-CA formats as YYYY-MM-DD. Building a formatter costs far more than using one: keep one per zone.
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, format);
  }
  return format.format(at);
}

/** "2026-11": the calendar month of `at` in `timeZone`. */
export function monthKey(at: Date, timeZone: string): string {
  return dayKey(at, timeZone).slice(0, 7);
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
