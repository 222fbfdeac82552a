/**
 * Issue 9, defect 11: one altered byte must never switch the `_metadata` checksum off.
 * Crafted files, each one edit away from a real `_metadata`: every one is a
 * CorruptionError naming the file, whatever the edit did to the checksum member.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetadata, sealMetadataJson, serializeMetadata } from '../../src/checkpoint/metadata.ts';
import { METADATA_FORMAT_VERSION } from '../../src/checkpoint/types.ts';
import type { CheckpointMetadata } from '../../src/checkpoint/types.ts';
import { ConfigError, CorruptionError } from '../../src/util/errors.ts';

const JOB = 'j';

function metadata(): CheckpointMetadata {
  return {
    formatVersion: METADATA_FORMAT_VERSION, job: JOB, checkpointId: 3, kind: 'checkpoint', triggerTime: 10, completeTime: 20, maxParallelism: 128,
    operators: [{ operatorId: 'op', parallelism: 1 }],
    subtasks: [{
      operatorId: 'op', subtaskIndex: 0,
      keyed: {
        format: 'lsm', mode: 'incremental', backendId: 'b', operatorId: 'op', subtaskIndex: 0, maxParallelism: 128, checkpointId: 3,
        keyGroupRange: { start: 0, end: 127 }, fullSize: 5, incrementalSize: 5, states: [],
        sharedFiles: [{ registryKey: 'k', localName: '000001.sst', path: `${JOB}/shared/u-1`, size: 5, checksum: '0badf00d', uploadedBy: 3, reused: false }],
        privateFiles: [],
      },
    }],
    fullSize: 5, checkpointedSize: 5,
  };
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('the current format version without a valid checksum member is corrupt, whatever the edit', () => {
  const good = text(serializeMetadata(metadata()));
  assert.deepEqual(parseMetadata(bytes(good), 'j/chk-3/_metadata', JOB), metadata());
  assert.match(good, /,\n "checksum": "[0-9a-f]{8}"\n\}\n$/);
  // The trailing member only: the shared file entries have "checksum" members of their own.
  const trailer = /\n "checksum": "([0-9a-f]{8})"\n\}\n$/;
  const edits: Record<string, string> = {
    'member renamed (one byte)': good.replace(trailer, '\n "checksuX": "$1"\n}\n'),
    'member renamed (case)': good.replace(trailer, '\n "Checksum": "$1"\n}\n'),
    'member removed': good.replace(/,\n "checksum": "[0-9a-f]{8}"\n\}\n$/, '\n}\n'),
    'member value not hex': good.replace(trailer, '\n "checksum": "Z$1"\n}\n').replace(/"Z([0-9a-f]{7})[0-9a-f]"/, '"Z$1"'),
    'member value shortened': good.replace(/\n "checksum": "([0-9a-f]{7})[0-9a-f]"\n\}\n$/, '\n "checksum": "$1"\n}\n'),
    'whitespace after the member': good.replace(/\n\}\n$/, ' \n}\n'),
    'trailing newline dropped': good.slice(0, -1),
    'flipped digit elsewhere': good.replace('"end": 127', '"end": 126'),
  };
  for (const [what, crafted] of Object.entries(edits)) {
    assert.notEqual(crafted, good, what);
    assert.throws(
      () => parseMetadata(bytes(crafted), 'j/chk-3/_metadata', JOB),
      (e: unknown) => e instanceof CorruptionError && e.message.includes('j/chk-3/_metadata'),
      `${what}: accepted`,
    );
  }
});

test('a newer format version is refused as newer (ConfigError) before its integrity rule is looked at', () => {
  const newer = JSON.stringify({ ...metadata(), formatVersion: METADATA_FORMAT_VERSION + 1 }, null, 1);
  assert.throws(() => parseMetadata(bytes(`${newer}\n`), 'm'), (e: unknown) => e instanceof ConfigError && /newer than/.test(e.message));
});

test('a sealed file is then checked for what it says (paths outside the job)', () => {
  const m = metadata();
  const escaping = JSON.stringify(m, null, 1).replace(`"${JOB}/shared/u-1"`, `"${JOB}/../elsewhere/u-1"`);
  assert.throws(() => parseMetadata(sealMetadataJson(`${escaping}\n`), 'm', JOB), ConfigError);
});
