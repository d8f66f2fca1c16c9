// One HTTP byte range (RFC 9110 §14.1.2): "bytes=a-b", "bytes=a-" or "bytes=-n".
// Multiple ranges are not supported (answered with the whole object, as the RFC allows).
import type { ByteRange } from '../../store/store.js';

/** The range within an object of `sizeBytes`, null for no/ignored Range, 'unsatisfiable'. */
export function parseRange(header: string | undefined, sizeBytes: number): ByteRange | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let first: number;
  let last: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    first = Math.max(0, sizeBytes - suffix);
    last = sizeBytes - 1;
  } else {
    first = Number(m[1]);
    last = m[2] === '' ? sizeBytes - 1 : Math.min(Number(m[2]), sizeBytes - 1);
    if (m[2] !== '' && Number(m[2]) < first) return null;
  }
  if (first >= sizeBytes) return 'unsatisfiable';
  return { offset: first, length: last - first + 1 };
}
