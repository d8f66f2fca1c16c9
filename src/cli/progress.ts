// A progress bar for put/get on a terminal (stderr); nothing when stderr is a pipe.
export interface Progress {
  add(bytes: number): void;
  done(): void;
}

const WIDTH = 30;

/** Bytes for people: B, KiB, MiB, GiB, TiB (one decimal above B). */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function progress(label: string, totalBytes: number | null): Progress {
  if (!process.stderr.isTTY) return { add: () => {}, done: () => {} };
  const startMs = Date.now();
  let bytes = 0;
  let lastDrawMs = 0;
  const draw = (): void => {
    const frac = totalBytes ? Math.min(1, bytes / totalBytes) : 0;
    const bar = '#'.repeat(Math.round(frac * WIDTH)).padEnd(WIDTH, '.');
    const rate = bytes / Math.max(0.001, (Date.now() - startMs) / 1000);
    process.stderr.write(`\r${label} [${bar}] ${humanBytes(bytes)}${totalBytes ? ` / ${humanBytes(totalBytes)}` : ''} ${humanBytes(rate)}/s `);
  };
  return {
    add(n) {
      bytes += n;
      if (Date.now() - lastDrawMs > 100) { lastDrawMs = Date.now(); draw(); }
    },
    done() { draw(); process.stderr.write('\n'); },
  };
}

