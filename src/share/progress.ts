// A one-line progress bar for a TTY: bytes done of total, redrawn at most 10 times a second.

export interface ProgressBar {
  update(doneBytes: number, totalBytes: number): void;
  done(): void;
}

const mib = (n: number): string => (n / (1 << 20)).toFixed(1);

export function progressBar(stream: NodeJS.WriteStream, width = 30): ProgressBar {
  let lastMs = 0;
  let drawn = false;
  return {
    update(doneBytes, totalBytes) {
      const now = Date.now();
      if (now - lastMs < 100 && doneBytes < totalBytes) return;
      lastMs = now;
      const frac = totalBytes === 0 ? 1 : doneBytes / totalBytes;
      const fill = Math.round(frac * width);
      stream.write(`\r[${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${Math.floor(frac * 100)}% ${mib(doneBytes)}/${mib(totalBytes)} MiB`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
