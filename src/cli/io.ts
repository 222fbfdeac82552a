/** Where a command writes, and the exit code it wants (tests pass their own). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Set by a command that ran but found a problem (exit 1). */
  exitCode: number;
}
