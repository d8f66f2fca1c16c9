// Two workloads measured in turns. On this kind of virtual machine one run's speed depends
// on what ran just before it (freed memory goes back to the host and is faulted in again),
// so the benchmarks alternate which of a pair goes first and quote the median ratio.

/** [a(), b()] measured in that order in even rounds and b first in odd ones. */
export async function pairInTurns(round: number, a: () => Promise<number>, b: () => Promise<number>): Promise<[number, number]> {
  if (round % 2 === 0) {
    const first = await a();
    return [first, await b()];
  }
  const second = await b();
  return [await a(), second];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
