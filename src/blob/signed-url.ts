/**
 * Signed URLs of the fs driver. They point at the control plane's blob route:
 *
 *   {publicBase}/api/v1/blobs/{key}?expires=<unix ms>&sig=<hex HMAC-SHA256("METHOD\nkey\nexpires")>
 *
 * The URL is the whole credential: the route accepts no bearer token on it (a worker must never send
 * its token to a URL it was handed), so the signature binds everything the request may do — the
 * method, the exact key and the expiry. All functions here are pure; the store adds key and clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequest } from '../domain/errors.js';
import { normalizeKey } from './keys.js';
import type { SignedUrlCheck, SignedUrlRequest } from './types.js';

export const BLOB_ROUTE_PREFIX = '/api/v1/blobs/';

const SIG_HEX = /^[0-9a-f]{64}$/;
// Unix ms fit in 16 digits until the year 318857; more digits is a forgery, not a date.
const EXPIRES = /^[0-9]{1,16}$/;

function mac(method: string, key: string, expires: number, signingKey: string): Buffer {
  return createHmac('sha256', signingKey).update(`${method}\n${key}\n${expires}`).digest();
}

/** The hex signature for a normalised key. */
export function signBlobUrl(method: 'GET' | 'PUT', key: string, expires: number, signingKey: string): string {
  return mac(method, key, expires, signingKey).toString('hex');
}

/** Each segment percent-encoded, separators kept: the route decodes segment by segment. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export function buildSignedUrl(
  publicBase: string,
  method: 'GET' | 'PUT',
  key: string,
  expires: number,
  signingKey: string,
): string {
  const base = publicBase.replace(/\/+$/, '');
  const sig = signBlobUrl(method, key, expires, signingKey);
  return `${base}${BLOB_ROUTE_PREFIX}${encodeKeyPath(key)}?expires=${expires}&sig=${sig}`;
}

/**
 * Checks a request against its URL's signature. Order matters: a malformed or forged URL is reported
 * as such even when it is also expired, so a forger learns nothing about expiry. The comparison is
 * constant-time over two 32-byte MACs; a signature of any other length is malformed before any
 * comparison, so no length is ever "close enough".
 */
export function verifySignedUrl(req: SignedUrlRequest, signingKey: string, nowMs: number): SignedUrlCheck {
  const method = req.method;
  if (method !== 'GET' && method !== 'PUT') return { ok: false, reason: 'malformed' };
  const expiresText = typeof req.expires === 'number' ? String(req.expires) : req.expires;
  if (expiresText === undefined || !EXPIRES.test(expiresText)) return { ok: false, reason: 'malformed' };
  const expires = Number(expiresText);
  if (!Number.isSafeInteger(expires)) return { ok: false, reason: 'malformed' };
  if (req.sig === undefined || !SIG_HEX.test(req.sig)) return { ok: false, reason: 'malformed' };
  let key: string;
  try {
    key = normalizeKey(req.key);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const expected = mac(method, key, expires, signingKey);
  const given = Buffer.from(req.sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad_signature' };
  }
  if (nowMs > expires) return { ok: false, reason: 'expired' };
  return { ok: true, key };
}

/**
 * The validity a presigned URL actually gets: the caller's ttl, capped by `artifacts.max_url_ttl`
 * (and by the driver's own ceiling, e.g. S3's 7 days). A non-positive ttl is a caller bug.
 */
export function capTtl(ttlMs: number, ...caps: number[]): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new BadRequest('url ttl must be a positive duration');
  return Math.floor(Math.min(ttlMs, ...caps));
}
