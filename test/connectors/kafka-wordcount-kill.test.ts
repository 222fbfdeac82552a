/**
 * End to end against a real Kafka broker: `weir run examples/kafka-wordcount.ts` (Kafka
 * source → words → keyed count in the lsm backend → exactly-once Kafka sink) in a child
 * process, SIGKILLed several times — usually in the middle of a checkpoint — and resumed
 * with `--resume latest`, first at parallelism 2, then at 3. Every kill must land before
 * the end of input (the committed output is still incomplete right after it). A
 * read_committed consumer of another client (the Apache Kafka Java consumer) must then see, for every word,
 * exactly the counts 1..n, each once, and nothing else.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '../../scripts/crash-lib.ts';
import { KafkaSource, kafkaDeserializers } from '../../src/index.ts';
import { systemClock } from '../../src/util/clock.ts';
import { startKafka, type KafkaBroker } from './support/kafka-broker.ts';
import { makeLines, runJob } from './support/run-job.ts';
import { produceLines, readCommitted, readCommittedByOffset } from './support/kafka-verify.ts';

let kafka: KafkaBroker;
before(async () => { kafka = await startKafka(); });
after(async () => { await kafka?.destroy(); });

test('kafka wordcount: SIGKILLs mid-checkpoint, resume latest, parallelism 2 then 3: read_committed output exactly once', { timeout: 1_500_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-kafka-e2e-'));
  try {
    const random = rng(1313);
    await kafka.createTopic('lines', 3);
    await kafka.createTopic('counts', 2);
    const { lines, expected, totalWords } = makeLines(150_000, random);
    await produceLines(kafka.brokers, 'lines', lines, 3);
    const jobDir = join(dir, 'checkpoints', 'kafka-wordcount');
    const args = (parallelism: number) => [
      '--checkpoints', join(dir, 'checkpoints'), '--state-dir', join(dir, 'state'), '--checkpoint-interval', '300ms',
      '--parallelism', String(parallelism), '--no-progress', '--state-backend', 'lsm', '--incremental', 'true', '--resume', 'latest',
      '--', '--brokers', kafka.brokers.join(','), '--input', 'lines', '--output', 'counts', '--bounded', '--txn-prefix', 'e2e-wordcount',
    ];
    // Kills 1-3 at parallelism 2, kill 4 at parallelism 3, then parallelism 3 to the end.
    const plan = [2, 2, 2, 3];
    let kills = 0;
    for (const p of plan) {
      const r = await runJob('examples/kafka-wordcount.ts', args(p), jobDir, { checkpoints: 1 + Math.floor(random() * 2), extraMs: Math.floor(random() * 150) });
      assert.equal(r.signal, 'SIGKILL', `run at parallelism ${p} was to be killed but ended by itself (input too small for the kill to land):\n${r.stderr}`);
      kills++;
      // The kill landed before the end of input: the committed output is still incomplete.
      const committed = await readCommitted(kafka.brokers, 'counts');
      assert.ok(committed.length < totalWords, `kill ${kills} landed after the end of input (${committed.length}/${totalWords} committed)`);
    }
    const final = await runJob('examples/kafka-wordcount.ts', args(3), jobDir, undefined);
    assert.equal(final.code, 0, `final run failed:\n${final.stderr}`);
    assert.equal(kills, 4);

    const byOffset = await readCommittedByOffset(kafka.brokers, 'counts');
    const values = [...byOffset.values()];
    const got = new Map<string, number[]>();
    const where = new Map<string, string[]>();
    for (const [at, v] of byOffset) {
      const r = JSON.parse(v) as { word: string; count: number };
      let l = got.get(r.word);
      if (!l) got.set(r.word, (l = []));
      l.push(r.count);
      const key = `${r.word}#${r.count}`;
      where.set(key, [...(where.get(key) ?? []), at]);
    }
    const dups = [...where].filter(([, at]) => at.length > 1).map(([k, at]) => `${k} at ${at.join(',')}`);
    const over = [...got].filter(([w, l]) => l.length !== expected.get(w)).map(([w, l]) => `${w}: ${l.length} records, expected ${expected.get(w)}, max count ${Math.max(...l)}`);
    assert.deepEqual({ dups, over }, { dups: [], over: [] }, 'no record twice, no word over its count');
    assert.equal(values.length, totalWords, 'committed record count = words in the input');
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), 'committed words = input words');
    for (const [word, n] of expected) {
      const counts = got.get(word)!.sort((a, b) => a - b);
      assert.deepEqual(counts, Array.from({ length: n }, (_, i) => i + 1), `word ${word}: counts are not exactly 1..${n}`);
    }
    // weir's own read_committed reader sees the same records as the Java consumer
    // (the output holds transactions aborted by fencing: the crashed runs' leftovers).
    const reader = await new KafkaSource({ brokers: kafka.brokers, topics: ['counts'], deserialize: kafkaDeserializers.string, bounded: true })
      .createReader({ subtaskIndex: 0, parallelism: 1, clock: systemClock, restoredState: undefined });
    const own: string[] = [];
    for (let guard = 0; guard < 100_000; guard++) {
      const r = reader.poll({ collect: (v) => own.push(v) }, 5000);
      if (r === 'end') break;
      if (r !== 'more') await r;
    }
    await reader.close?.();
    assert.deepEqual(own.sort(), [...values].sort(), 'KafkaSource read_committed = Java read_committed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
