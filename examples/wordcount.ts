/**
 * Word count, exactly once into files.
 *
 *   npx weir run examples/wordcount.ts -- --input words.txt --output out/
 *
 * Reads the input line by line, lowercases it, splits it into words on every run of
 * characters that are not letters or digits, keys by word, keeps the count in a
 * ValueState, and for every word of the input writes the running count as one JSON
 * line {"word": w, "count": c} through the exactly-once file sink into the output
 * directory. After the last line the job takes a final checkpoint (committing
 * everything) and ends. Committed output: for every word, counts 1..n, each once.
 */
import { parseArgs } from 'node:util';
import { FileSink, FileSource, type DataStream, type StreamEnvironment } from '../src/index.ts';

export interface WordCount {
  word: string;
  count: number;
}

/**
 * Lines → lowercase words → running count per word (ValueState). The Kafka and NATS
 * examples count the same way; the uids ('words', 'count') name the state in checkpoints.
 */
export function countWords(lines: DataStream<string>): DataStream<WordCount> {
  return lines
    .flatMap<string>((line, out) => {
      for (const w of line.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w !== '') out.collect(w);
    })
    .uid('words')
    .keyBy((w) => w)
    .process<WordCount>({
      processElement(word, ctx, out) {
        const count = ctx.getValueState<number>('count');
        const c = (count.value() ?? 0) + 1;
        count.update(c);
        out.collect({ word, count: c });
      },
    })
    .uid('count');
}

export default function wordcount(env: StreamEnvironment, args: string[]): void {
  const { values } = parseArgs({ args, options: { input: { type: 'string' }, output: { type: 'string' } } });
  if (!values.input || !values.output) throw new Error('usage: weir run examples/wordcount.ts -- --input FILE --output DIR');
  const lines = env
    .fromSource(new FileSource(values.input))
    .uid('lines');
  countWords(lines)
    .sinkTo(new FileSink<WordCount>({ directory: values.output, format: (r) => JSON.stringify({ word: r.word, count: r.count }) }))
    .uid('files');
}
