// The on-disk outbox: without SMTP the portal writes each message as data_dir/outbox/<id>.eml
// (src/mail/mod.rs). Parses those files: headers (unfolded, RFC 2047 words decoded) and the
// text body (quoted-printable or base64 decoded).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Decodes the RFC 2047 encoded words of a header value (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`). */
export function decodeWords(value) {
  return value
    .replace(/\?=\s+=\?/g, '?==?') // whitespace between two encoded words is not shown
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, charset, kind, text) => {
      const bytes = kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : qpBytes(text.replace(/_/g, ' '));
      return new TextDecoder(charset).decode(bytes);
    });
}

/** The bytes of a quoted-printable text (soft line breaks removed). */
function qpBytes(text) {
  const s = text.replace(/=\r?\n/g, '');
  const out = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(...Buffer.from(s[i], 'utf8'));
    }
  }
  return Buffer.from(out);
}

/** Parses one message: { file, headers: { lowercase name: value }, to, subject, text }. */
export function parseEml(raw, file = '') {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  let text;
  if (encoding === 'quoted-printable') text = qpBytes(body).toString('utf8');
  else if (encoding === 'base64') text = Buffer.from(body.replace(/\s/g, ''), 'base64').toString('utf8');
  else text = body;
  return { file, headers, to: headers.to ?? '', subject: headers.subject ?? '', text: text.replace(/\r\n/g, '\n') };
}

/** Every message of the outbox directory, oldest first. */
export async function readOutbox(dir) {
  let names;
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.eml')).sort();
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
  return Promise.all(names.map(async (n) => parseEml(await readFile(join(dir, n), 'utf8'), n)));
}

/** The first link of a message whose path is `path` (e.g. /compte/verification), as path + query. */
export function linkIn(mail, path) {
  for (const m of mail.text.matchAll(/https?:\/\/\S+/g)) {
    const url = new URL(m[0]);
    if (url.pathname === path) return url.pathname + url.search;
  }
  throw new Error(`no link to ${path} in the message "${mail.subject}" to ${mail.to}:\n${mail.text}`);
}
