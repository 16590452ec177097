// RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30-second steps) with node:crypto, as an
// authenticator app computes it. twofa checks the codes; this file exists so that the
// example can play the user's app without any dependency.
import { createHmac } from 'node:crypto';

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Seconds per time step (RFC 6238's X). */
export const PERIOD_SECONDS = 30;
const DIGITS = 6;

/** Decodes RFC 4648 base32 (case-insensitive; padding, spaces and dashes ignored). */
export function base32Decode(text: string): Buffer {
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const value = BASE32_ALPHABET.indexOf(char);
    if (value < 0) {
      throw new Error(`not a base32 character: ${JSON.stringify(char)}`);
    }
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The time step (RFC 6238's T) that a Unix time falls in. */
export function timeStep(unixSeconds: number): number {
  return Math.floor(unixSeconds / PERIOD_SECONDS);
}

/** The HOTP value (RFC 4226) of `key` at `counter`, as DIGITS decimal digits. */
export function hotp(key: Buffer, counter: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 10 ** DIGITS).padStart(DIGITS, '0');
}

/**
 * The code an authenticator app shows at `unixSeconds` for a base32 secret, or the code
 * `offsetSteps` steps later (twofa accepts the current step and one step either side).
 */
export function totp(secretBase32: string, unixSeconds: number, offsetSteps = 0): string {
  return hotp(base32Decode(secretBase32), timeStep(unixSeconds) + offsetSteps);
}
