/**
 * Business dates. A business date is a calendar day in Europe/Berlin, written YYYY-MM-DD.
 * Arithmetic on them is done on the calendar (no 30-day months, no DST surprises).
 */

/** A calendar date, YYYY-MM-DD. */
export type BusinessDate = string & { readonly __brand: 'BusinessDate' };

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

const berlinFormatter = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Berlin',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** Parses and validates YYYY-MM-DD (a real calendar day). */
export function parseBusinessDate(value: string): BusinessDate {
  const m = DATE_RE.exec(value);
  if (!m) throw new RangeError(`not a date (YYYY-MM-DD): ${value}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) {
    throw new RangeError(`not a calendar day: ${value}`);
  }
  return value as BusinessDate;
}

/** True if the string is a valid YYYY-MM-DD calendar day. */
export function isBusinessDate(value: string): value is BusinessDate {
  try {
    parseBusinessDate(value);
    return true;
  } catch {
    return false;
  }
}

/** The Berlin calendar day of an instant (epoch ms). */
export function berlinDate(epochMs: number): BusinessDate {
  return berlinFormatter.format(new Date(epochMs)) as BusinessDate;
}

function parts(date: BusinessDate): [number, number, number] {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return [y, m, d];
}

function fromUtc(ms: number): BusinessDate {
  return new Date(ms).toISOString().slice(0, 10) as BusinessDate;
}

/** Adds calendar days. */
export function addDays(date: BusinessDate, days: number): BusinessDate {
  const [y, m, d] = parts(date);
  return fromUtc(Date.UTC(y, m - 1, d + days));
}

/** Days in a month (month 1–12). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Adds calendar months, clamping to the month's end: 31 Jan + 1 month = 28/29 Feb.
 * `anchorDay` keeps the original day across short months (31 Jan → 28 Feb → 31 Mar).
 */
export function addMonths(date: BusinessDate, months: number, anchorDay?: number): BusinessDate {
  const [y, m, d] = parts(date);
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = (total % 12) + 1;
  const day = Math.min(anchorDay ?? d, daysInMonth(ny, nm));
  return `${ny.toString().padStart(4, '0')}-${nm.toString().padStart(2, '0')}-${day
    .toString()
    .padStart(2, '0')}` as BusinessDate;
}

/** Whole calendar days from a to b (positive when b is later). */
export function daysBetween(a: BusinessDate, b: BusinessDate): number {
  const [ay, am, ad] = parts(a);
  const [by, bm, bd] = parts(b);
  return Math.round((Date.UTC(by, bm - 1, bd) - Date.UTC(ay, am - 1, ad)) / 86_400_000);
}

/** The instant of midnight at the start of a Berlin calendar day (epoch ms). */
export function berlinStartOfDay(date: BusinessDate): number {
  const [y, m, d] = parts(date);
  // Berlin is UTC+1 or UTC+2; try both and keep the one that maps back to the same day at 00:00.
  for (const offsetHours of [1, 2]) {
    const candidate = Date.UTC(y, m - 1, d, -offsetHours);
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(candidate));
    if (berlinDate(candidate) === date && local === '00') return candidate;
  }
  return Date.UTC(y, m - 1, d, -1);
}

/** "15.03.2026" — how a German letter writes a date. */
export function formatGermanDate(date: BusinessDate): string {
  const [y, m, d] = parts(date);
  return `${d.toString().padStart(2, '0')}.${m.toString().padStart(2, '0')}.${y}`;
}

/** Compares two business dates like a sort comparator. */
export function compareDates(a: BusinessDate, b: BusinessDate): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
