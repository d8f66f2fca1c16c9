// One log line per damaged object (docs/design.md "When objects are missing"): a file
// whose chunk is missing is read again and again (the kernel retries, programs retry), and
// each read is EIO, but the log says it once per reason (missing, corrupt, the store down),
// until the object opens again (a repair put it back) and fails anew. Bounded: past
// MAX_KEPT objects the oldest is forgotten (and logged again at its next failure).
import { isMegafsError } from '../errors.js';

const MAX_KEPT = 4096;

export class DamageLog {
  /** Object id -> the error code of the failure last logged for it. */
  private readonly said = new Map<string, string>();

  constructor(private readonly log: (line: string) => void) {}

  /** Log `line` for the failure `err` of object `id`, unless that was said already. */
  once(id: string, err: unknown, line: string): void {
    const code = isMegafsError(err) ? err.code : 'other';
    if (this.said.get(id) === code) return;
    this.said.delete(id);
    this.said.set(id, code);
    if (this.said.size > MAX_KEPT) this.said.delete(this.said.keys().next().value!);
    this.log(line);
  }

  /** Object `id` opened: a later failure is news again. */
  healed(id: string): void {
    if (this.said.size > 0) this.said.delete(id);
  }
}
