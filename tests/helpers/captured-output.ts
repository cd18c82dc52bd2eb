/**
 * What the process writes while a test runs, for the tests that run the real Powertools
 * Logger: it writes through its own Console, INFO and below to stdout, WARN and ERROR to
 * stderr. Restore with `vi.restoreAllMocks()`.
 */
import { vi } from 'vitest';

export function captureOutput(): string[] {
  const chunks: string[] = [];
  const capture = (chunk: string | Uint8Array) => chunks.push(String(chunk)) > 0;
  for (const stream of [process.stdout, process.stderr])
    vi.spyOn(stream, 'write').mockImplementation(capture);
  return chunks;
}

/** The JSON log lines among what was written. */
export function jsonLines(chunks: readonly string[]): Record<string, unknown>[] {
  return chunks
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
