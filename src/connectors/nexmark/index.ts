/** The Nexmark benchmark's event generator (Apache Beam's, bit for bit) and source. */
export { JavaRandom } from './java-random.ts';
export {
  GeneratorConfig, DEFAULT_NEXMARK_CONFIG, NEXMARK_BASE_TIME, type NexmarkConfig, type GeneratorConfigOptions, type RateShape, type RateUnit,
} from './config.ts';
export { NexmarkGenerator, type GeneratedEvent } from './generator.ts';
export type { Person, Auction, Bid, NexmarkEvent } from './model.ts';
export { eventTimestamp } from './model.ts';
export { NexmarkSource, type NexmarkSourceOptions } from './source.ts';
