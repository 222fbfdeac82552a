package dev.weir.peer;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.apache.flink.api.connector.source.util.ratelimit.RateLimiter;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;

/**
 * Releases the first {@code load} records at once, then {@code perRound} more each time a
 * checkpoint completes after the previous allotment was used up: "load, checkpoint, then
 * rounds of updates each followed by a checkpoint" (parallelism 1). After the checkpoint
 * that follows the last round it releases nothing more and sets {@link #DONE}, so the
 * caller can cancel the job and keep that checkpoint (a finished job discards its own).
 * The MiniCluster runs in this JVM, so the static flag is seen by the caller.
 */
final class RoundsRateLimiterStrategy implements RateLimiterStrategy<org.apache.flink.api.connector.source.lib.NumberSequenceSource.NumberSequenceSplit> {
    private static final long serialVersionUID = 1L;
    private final long load;
    private final long perRound;
    private final int rounds;
    static final java.util.concurrent.atomic.AtomicBoolean DONE = new java.util.concurrent.atomic.AtomicBoolean();
    /** Ids of the checkpoints that ended the load (first) and each round (then). */
    /** When the first record was released and when the load's allotment ran out (nanoTime). */
    static volatile long loadStartNanos, loadEndNanos;
    static final java.util.List<Long> ROUND_CHECKPOINTS = new java.util.concurrent.CopyOnWriteArrayList<>();

    RoundsRateLimiterStrategy(long load, long perRound, int rounds) {
        this.load = load;
        this.perRound = perRound;
        this.rounds = rounds;
    }

    @Override
    public RateLimiter<org.apache.flink.api.connector.source.lib.NumberSequenceSource.NumberSequenceSplit> createRateLimiter(int parallelism) {
        if (parallelism != 1) throw new IllegalArgumentException("the rounds workload runs at parallelism 1");
        return new RateLimiter<>() {
            private long allowance = load;
            private boolean exhaustedSinceCheckpoint = false;
            private int released = 0;
            private CompletableFuture<Void> gate;

            @Override
            public CompletionStage<Void> acquire(int permits) {
                if (loadStartNanos == 0) loadStartNanos = System.nanoTime();
                if (allowance >= permits) {
                    allowance -= permits;
                    return CompletableFuture.completedFuture(null);
                }
                if (loadEndNanos == 0) loadEndNanos = System.nanoTime();
                exhaustedSinceCheckpoint = true;
                gate = new CompletableFuture<>();
                return gate.thenCompose(v -> acquire(permits));
            }

            @Override
            public void notifyCheckpointComplete(long checkpointId) {
                if (!exhaustedSinceCheckpoint) return;
                exhaustedSinceCheckpoint = false;
                ROUND_CHECKPOINTS.add(checkpointId);
                if (released == rounds) {
                    DONE.set(true);
                    return;
                }
                released++;
                allowance += perRound;
                CompletableFuture<Void> g = gate;
                gate = null;
                if (g != null) g.complete(null);
            }
        };
    }
}
