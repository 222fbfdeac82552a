// Temporary: the lsm backend against the in-test fake engine, until src/lsm lands.
import { runKeyedStateContract } from './keyed-state-contract.ts';
import { runLsmSnapshotScenarios } from './lsm-snapshot-scenarios.ts';
import { openLsmBackendWith } from '../../src/state/lsm-backend.ts';
import { fakeEngine } from './fake-lsm.ts';

runKeyedStateContract('lsm (fake engine)', (o) => openLsmBackendWith(fakeEngine, o));
runLsmSnapshotScenarios('fake engine', fakeEngine);
