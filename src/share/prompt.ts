// Ask for a secret on the terminal without echoing it.
import { createInterface } from 'node:readline';

export function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput?: (s: string) => void };
    rl.question(question, (answer) => { rl.close(); process.stderr.write('\n'); resolve(answer); });
    // Print the question, then nothing of what is typed.
    out._writeToOutput = () => undefined;
  });
}
