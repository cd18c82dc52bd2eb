/**
 * What the process writes while a test runs, for the tests that run the real Powertools
 * Logger: it writes through its own Console, INFO and below to stdout, WARN and ERROR to
 * stderr. Restore with `vi.restoreAllMocks()`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
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

/**
 * A real Powertools Logger that emits at INFO (the suite silences Powertools), and what it
 * writes. Restore with `vi.restoreAllMocks()` and `vi.unstubAllEnvs()`.
 */
export function realLogger(serviceName: string): { logger: Logger; output: string[] } {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
  const output = captureOutput();
  return { logger: new Logger({ serviceName }), output };
}
