import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { DestClass, DialingConfig } from './config.ts';

export interface Classification {
  readonly class: DestClass;
  /** The dialed string when it is clean (digits, a leading +, * or #), else ''. Safe to log and to act on. */
  readonly number: string;
  /** E.164 form when known. */
  readonly e164?: string;
  /** ISO country of the destination when known; '001' for non-geographic (satellite) ranges. */
  readonly country?: string;
  /** Why this class, in words (no raw input in it). */
  readonly why: string;
}

const CLEAN = /^\+?[0-9*#]+$/;

/**
 * The site's dialing rules, applied to a dialed string. Attacker input: only
 * digits (with one leading + or a feature-code * / #) get past the first
 * check; anything else is `invalid` and its text never leaves here.
 */
export function classify(raw: string, d: DialingConfig): Classification {
  if (raw.length === 0 || raw.length > d.maxLength) return invalid(raw.length === 0 ? 'empty number' : `longer than ${d.maxLength} characters`);
  if (!CLEAN.test(raw)) return invalid(raw.lastIndexOf('+') > 0 ? '+ not at the start' : 'not a dialable number (letters or symbols)');
  if (raw === '+') return invalid('+ alone');
  if (/^[*#]/.test(raw)) return { class: 'internal', number: raw, why: 'feature code' };
  if (/[*#]/.test(raw)) return invalid('* or # inside a number');
  let n = raw;
  for (const p of d.stripPrefixes) {
    if (p && n.startsWith(p) && n.length - p.length > d.extensionMaxLength) {
      n = n.slice(p.length);
      break;
    }
  }
  // Emergency first, with or without an outside-line prefix: never limited, whatever the length rules say.
  if (d.emergency.includes(raw) || d.stripPrefixes.some((p) => p && raw.startsWith(p) && d.emergency.includes(raw.slice(p.length))))
    return { class: 'emergency', number: raw, why: 'emergency number' };
  if (d.internationalPrefixes.includes(n)) return invalid('international prefix alone');
  if (n.length <= d.extensionMaxLength && !n.startsWith('+')) return { class: 'internal', number: raw, why: 'extension' };

  const intl = n.startsWith('+') ? '+' : d.internationalPrefixes.find((p) => p !== '+' && n.startsWith(p));
  if (intl !== undefined) {
    const rest = n.slice(intl.length);
    if (!/^[1-9][0-9]{2,14}$/.test(rest)) return invalid('international prefix without a valid number after it');
    return international(raw, rest, d);
  }
  const home = d.country as CountryCode;
  const national = d.nationalPrefix !== '' && n.startsWith(d.nationalPrefix);
  const pn = parsePhoneNumberFromString(n, home);
  if (!pn || !pn.isPossible()) return invalid(`not a possible ${d.country} number`);
  const type = pn.getType();
  if (type && d.premiumTypes.includes(type)) return { class: 'premium', number: raw, e164: pn.number, country: d.country, why: `${type.toLowerCase().replace('_', '-')} number in ${d.country}` };
  return national
    ? { class: 'national', number: raw, e164: pn.number, country: d.country, why: 'national format' }
    : { class: 'local', number: raw, e164: pn.number, country: d.country, why: 'local number' };
}

function international(raw: string, rest: string, d: DialingConfig): Classification {
  const e164 = `+${rest}`;
  const risky = d.highRiskPrefixes.find((p) => rest.startsWith(p));
  const pn = parsePhoneNumberFromString(e164);
  const country = pn?.country ?? (pn ? '001' : undefined);
  const base = { number: raw, e164, ...(country ? { country } : {}) };
  if (risky !== undefined) return { class: 'premium', ...base, why: `high-risk range +${risky}` };
  if (!pn) return { class: 'invalid', number: raw, e164, why: 'no such country code' };
  const type = pn.getType();
  if (type && d.premiumTypes.includes(type)) return { class: 'premium', ...base, why: `${type.toLowerCase().replace('_', '-')} number${country ? ` in ${country}` : ''}` };
  if (country && d.denyCountries.includes(country)) return { class: 'premium', ...base, why: `destination country ${country} is denied` };
  if (d.allowCountries.length > 0 && !(country && d.allowCountries.includes(country)) && country !== d.country)
    return { class: 'premium', ...base, why: `destination country ${country ?? 'unknown'} is not allowed` };
  if (country === d.country) return { class: 'national', ...base, why: 'international format to the home country' };
  return { class: 'international', ...base, why: `international to ${country ?? `+${pn.countryCallingCode}`}` };
}

function invalid(why: string): Classification {
  return { class: 'invalid', number: '', why };
}
