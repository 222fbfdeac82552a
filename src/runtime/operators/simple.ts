/** Stateless one-input operators: map, filter, flatMap, and the identity (union, side outputs). */
import type { Collector } from '../functions.ts';
import { StatelessOperator } from '../operator.ts';

export class MapOperator extends StatelessOperator {
  constructor(private readonly fn: (value: any) => unknown) {
    super();
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    this.out.collect(this.fn(value), timestamp);
  }
}

export class FilterOperator extends StatelessOperator {
  constructor(private readonly fn: (value: any) => boolean) {
    super();
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    if (this.fn(value)) this.out.collect(value, timestamp);
  }
}

export class FlatMapOperator extends StatelessOperator {
  private timestamp: number | undefined;
  private readonly collector: Collector<unknown> = { collect: (v) => this.out.collect(v, this.timestamp) };
  constructor(private readonly fn: (value: any, out: Collector<any>) => void) {
    super();
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    this.timestamp = timestamp;
    this.fn(value, this.collector);
  }
}

export class IdentityOperator extends StatelessOperator {
  processElement(value: unknown, timestamp: number | undefined): void {
    this.out.collect(value, timestamp);
  }
}
