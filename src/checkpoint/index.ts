/** The checkpoint machinery's surface for src/runtime, src/web and src/cli. */
export type {
  CheckpointMetadata,
  CheckpointParticipant,
  KeyedStateHandle,
  KeyGroupRange,
  OperatorStateEntry,
  PrivateFileRef,
  SharedFileRef,
  SubtaskCheckpointMetrics,
  SubtaskState,
} from './types.ts';
export { METADATA_FORMAT_VERSION } from './types.ts';
export { CheckpointCoordinator } from './coordinator.ts';
export type {
  CheckpointCoordinatorOptions,
  CheckpointEvent,
  CheckpointStats,
  CompletedCheckpointInfo,
  TaskId,
} from './coordinator.ts';
export { CompletedCheckpointStore } from './completed-checkpoint-store.ts';
export { InMemoryCheckpointIdCounter, StorageCheckpointIdCounter } from './checkpoint-id-counter.ts';
export type { CheckpointIdCounter } from './checkpoint-id-counter.ts';
export { JobLease, JobLeaseError } from './job-lease.ts';
export type { LeaseRecord } from './job-lease.ts';
export { startJobRun } from './job-start.ts';
export type { JobStart, JobStartOptions } from './job-start.ts';
export { ownedCheckpointIds } from './restore-claim.ts';
export type { RunIdentity } from './restore-claim.ts';
export type { CompletedCheckpointStoreOptions, DeletionReport, RecoveredStore } from './completed-checkpoint-store.ts';
export { SharedStateRegistry } from './shared-state-registry.ts';
export type { SharedStateEntry } from './shared-state-registry.ts';
export { planRestore } from './restore-plan.ts';
export type { OperatorRestorePlan, RestorePlan, RestorePlanOptions, SubtaskRestorePlan } from './restore-plan.ts';
export { parseMetadata, serializeMetadata, validateMetadata, referencedPaths } from './metadata.ts';
export {
  checkpointDir,
  classifyJobPath,
  isInsideJob,
  metadataPath,
  sharedDir,
  taskOwnedDir,
  validateJobName,
  METADATA_FILE,
} from '../storage/job-layout.ts';
export { findOrphans, listJobs, scanJob } from './job-scan.ts';
export type { JobScan } from './job-scan.ts';
export { gcJob, inspectJob, verifyCheckpoint, verifyJob, viewCheckpoint } from './inspection.ts';
export { selectResumeCheckpoint } from './restore-select.ts';
export type { ResumeSelection } from './restore-select.ts';
export type { CheckpointView, GcResult, JobInspection, VerifyProblem, VerifyResult } from './inspection.ts';
