import { describe, expect, it } from 'vitest';
import { dayKey, isTimeZone, monthKey } from '../../src/modules/limits/periods.js';

describe('periods in the workspace time zone', () => {
  it('puts an instant on the local calendar day', () => {
    const at = new Date('2026-03-01T03:30:00Z');
    expect(dayKey(at, 'UTC')).toBe('2026-03-01');
    expect(dayKey(at, 'America/New_York')).toBe('2026-02-28');
    expect(monthKey(at, 'America/New_York')).toBe('2026-02');
    expect(dayKey(at, 'Asia/Tokyo')).toBe('2026-03-01');
  });

  it('follows DST: 23:30 local is still the same day on both sides of the change', () => {
    expect(dayKey(new Date('2026-03-09T03:30:00Z'), 'America/New_York')).toBe('2026-03-08'); // EDT, UTC-4
    expect(dayKey(new Date('2026-11-02T04:30:00Z'), 'America/New_York')).toBe('2026-11-01'); // EST, UTC-5
  });

  it('changes day on the minute local midnight falls on, also at offsets of 30 and 45 minutes', () => {
    // Kathmandu is UTC+5:45 and Kolkata UTC+5:30: their midnights fall at 18:15 and 18:30 UTC.
    for (const [zone, midnight] of [
      ['Asia/Kathmandu', '2026-11-21T18:15:00.000Z'],
      ['Asia/Kolkata', '2026-11-21T18:30:00.000Z'],
    ] as const) {
      const at = new Date(midnight);
      expect(dayKey(new Date(at.getTime() - 1), zone)).toBe('2026-11-21');
      expect(dayKey(at, zone)).toBe('2026-11-22');
      expect(dayKey(new Date(at.getTime() + 59_999), zone)).toBe('2026-11-22');
      expect(dayKey(new Date(at.getTime() - 60_000), zone)).toBe('2026-11-21');
    }
  });

  it('knows real zone names', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
