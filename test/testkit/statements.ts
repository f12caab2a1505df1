// Counting the statements a path runs: hot paths assert theirs, so a query added to them shows.

export interface StatementRecorder {
  /** Give it to startTestServer (or openTestDatabase). */
  onStatement(text: string): void;
  /** What `work` returned, and the statements the database ran meanwhile, in order. */
  during<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }>;
}

export function statementRecorder(): StatementRecorder {
  let recording: string[] | undefined;
  return {
    onStatement: (text) => void recording?.push(text),
    async during(work) {
      const statements: string[] = (recording = []);
      try {
        return { result: await work(), statements };
      } finally {
        recording = undefined;
      }
    },
  };
}
