// Days and months are counted in the workspace's time zone: a counter row is
// keyed by the period it belongs to, so a new day is simply a new row.

interface Zone {
  format: Intl.DateTimeFormat;
  /** The last answer, and the UTC minute it was for. */
  minute: number;
  day: string;
}
const zones = new Map<string, Zone>();

/** "2026-11-22": the calendar day of `at` in `timeZone`. */
export function dayKey(at: Date, timeZone: string): string {
  // Formatting costs about 15 µs here, and every chat asks four times. Every UTC offset in use since 1972
  // is a whole number of minutes, so a local day starts on a UTC minute: the last answer holds for its minute.
  const minute = Math.floor(at.getTime() / 60_000);
  let zone = zones.get(timeZone);
  if (!zone) {
    // en-CA formats as YYYY-MM-DD. Building a formatter costs far more than using one: keep one per zone.
    zone = { format: new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }), minute: NaN, day: '' };
    zones.set(timeZone, zone);
  }
  if (zone.minute !== minute) {
    zone.day = zone.format.format(at);
    zone.minute = minute;
  }
  return zone.day;
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
