/** Job graph → execution plan: which operators chain, and which edges become channels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamEnvironment, GeneratorSource, CollectSink } from '../../src/index.ts';
import { buildExecutionPlan } from '../../src/runtime/execution-plan.ts';

test('forward edges of equal parallelism chain; keyBy, rebalance and multi-input nodes start new chains', () => {
  const env = new StreamEnvironment({ parallelism: 2 });
  const a = env.fromSource(new GeneratorSource({ generate: (i) => i, count: 10, name: 'gen' }));
  const m = a.map((x) => x + 1).name('plus').filter((x) => x > 0).name('positive');
  const one = m.map((x) => x).name('narrow').setParallelism(1); // rebalance 2 → 1
  const keyed = m.keyBy((x) => x % 3).reduce((x, y) => x + y).name('sum');
  keyed.union(one).sinkTo(new CollectSink<number>()).name('sink');
  const plan = buildExecutionPlan(env.buildGraph('plan'));
  assert.deepEqual(plan.chains.map((c) => [c.name, c.parallelism]), [
    ['gen → plus → positive', 2],
    ['narrow', 1],
    ['sum', 2],
    ['union → sink', 2],
  ]);
  const graph = plan.graph;
  const byName = (n: string) => graph.nodes.find((x) => x.name === n)!;
  assert.equal(byName('narrow').inputs[0]!.partitioning, 'rebalance');
  assert.equal(byName('sum').inputs[0]!.partitioning, 'hash');
  assert.deepEqual(byName('union').inputs.map((e) => e.partitioning), ['forward', 'rebalance']);
  // Operator ids are stable: position and name (or the uid).
  assert.equal(byName('sum').operatorId, `${byName('sum').index}-sum`);
});

test('configuration errors are reported before anything runs', () => {
  const env = new StreamEnvironment({ parallelism: 4, maxParallelism: 2 });
  env.fromSource(new GeneratorSource({ generate: (i) => i, count: 1 })).sinkTo(new CollectSink<number>());
  assert.throws(() => buildExecutionPlan(env.buildGraph('bad')), /parallelism 4 outside 1\.\.2/);
  const dup = new StreamEnvironment();
  dup.fromSource(new GeneratorSource({ generate: (i) => i, count: 1 })).uid('x').map((v) => v).uid('x');
  assert.throws(() => buildExecutionPlan(dup.buildGraph('dup')), /duplicate operator id x/);
});
