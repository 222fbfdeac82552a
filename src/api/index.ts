/** The user API: what job code imports (via the package root, src/index.ts). */
export { StreamEnvironment, findCheckpoint } from './environment.ts';
export type { StreamEnvironmentOptions, StateBackendKind, JobHandle, JobProgress, CheckpointSummary } from './environment.ts';
export { DataStream, KeyedStream, WindowedStream } from './data-stream.ts';
export { ConnectedStreams, KeyedConnectedStreams } from './connected-streams.ts';
export type { KeyedCoProcessFunction, TaggedRecord } from './connected-streams.ts';
export { JoinedStreams, JoinWhereEqual, WindowedJoin } from './window-join.ts';
export { IntervalJoin, IntervalJoined } from './interval-join.ts';
export { OutputTag } from '../runtime/functions.ts';
export type {
  Collector, KeyedProcessFunction, KeyedProcessContext, KeyedOpenContext, OnTimerContext, TimerService, KeyedStateStore,
  KeySelector, TimeWindow, WindowAssigner, ProcessWindowFunction, WindowResultFunction, TimestampAssigner,
} from '../runtime/functions.ts';
export type { Source, SourceReader, SourceContext, SourceOutput, PollResult, Sink, SinkWriter, SinkContext, SinkSnapshot } from '../runtime/connector-types.ts';
export type { RestartStrategy, JobResult, JobMetrics } from '../runtime/job-execution.ts';
export { JobFailedError } from '../runtime/job-execution.ts';
export { MalformedRecordError } from '../runtime/operators/simple.ts';
export { UserFunctionError, type UserFunctionFailure } from '../util/errors.ts';
export type { BadRecord, RecordPosition } from '../runtime/operators/simple.ts';
export { WatermarkStrategy } from './watermark-strategy.ts';
export { TumblingEventTimeWindows, SlidingEventTimeWindows, EventTimeSessionWindows } from './windows.ts';
export { parseDuration } from './durations.ts';
export { parseSize } from './memory-budget.ts';
export type { ValueState, ListState, MapState, ReducingState, AggregatingState, AggregateFunction, Serializer } from '../state/types.ts';
export { partitionProgress, type PartitionProgress } from '../runtime/partition-progress.ts';
export { userFunctionFailed, type FailingSubtask } from '../runtime/user-code.ts';
export type { Clock, TimerHandle } from '../util/clock.ts';
