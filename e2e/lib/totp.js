// The authenticator app of the tests: RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits)
// from a base32 secret (RFC 4648), with Node's crypto only.
import { createHmac } from 'node:crypto';

/** Seconds per time step. */
export const STEP_SECONDS = 30;

/** The bytes of an RFC 4648 base32 text (spaces, padding and case ignored). */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of clean) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(c)} in ${JSON.stringify(text)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The time step of a moment (ms since the epoch). */
export const stepAt = (ms = Date.now()) => Math.floor(ms / 1000 / STEP_SECONDS);

/** The 6-digit code of `step` (RFC 4226 HOTP with the step as counter). */
export function codeAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

/**
 * An authenticator holding one secret. The portal accepts a code once, and never one of an
 * earlier step after it: `nextCode()` gives the code of the current step, after waiting for
 * the next step when the current one has already been used.
 */
export class Authenticator {
  constructor(secret) {
    this.secret = secret.replace(/\s/g, '');
    this.lastStep = -1;
  }

  async nextCode() {
    let step = stepAt();
    if (step <= this.lastStep) {
      // The only wait of the suite: until the next step starts (plus a small margin).
      const nextStart = (this.lastStep + 1) * STEP_SECONDS * 1000;
      await new Promise((r) => setTimeout(r, nextStart - Date.now() + 100));
      step = stepAt();
    }
    this.lastStep = step;
    return codeAt(this.secret, step);
  }
}
