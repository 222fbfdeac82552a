/**
 * The main thread's read-only view of a state backend that lives on a worker thread:
 * what the REST API's state view and /metrics read of a backend (kind, approximate size,
 * for lsm the store's stats and live files), refreshed by the worker's periodic reports
 * (worker-protocol.ts BackendReport). Never used for state access.
 */
import type { ObservedBackend } from '../job-observer.ts';
import type { BackendReport } from './worker-protocol.ts';

export class BackendMirror implements ObservedBackend {
  private last: BackendReport | undefined;

  constructor(readonly kind: 'heap' | 'lsm') {}

  update(report: BackendReport): void {
    this.last = report;
  }

  approximateSize(): number {
    return this.last?.approximateSize ?? 0;
  }

  /** Present like LsmKeyedStateBackend.lsmStore(), for the observers' duck typing. */
  lsmStore(): { stats(): unknown; liveFiles(): BackendReport['liveFiles'] } | undefined {
    const r = this.last;
    if (this.kind !== 'lsm' || !r?.lsmStats) return undefined;
    return { stats: () => r.lsmStats, liveFiles: () => r.liveFiles };
  }
}
