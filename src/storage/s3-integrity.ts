/**
 * Integrity of S3 uploads (issue 9, defect 6): what weir sends with each request so the
 * store can reject a body corrupted on the way, and what weir checks in the answer
 * where the store does not.
 *
 * Sent: `x-amz-checksum-crc32c` (ChecksumCRC32C: base64 of the big-endian CRC-32C of the
 * request body) on every PutObject and UploadPart; CreateMultipartUpload declares
 * ChecksumAlgorithm CRC32C and CompleteMultipartUpload lists every part's checksum.
 * The client keeps requestChecksumCalculation WHEN_REQUIRED (see s3-storage.ts): an
 * explicit checksum is then sent as a plain header, never as an aws-chunked trailer
 * (test/storage/s3-integrity.test.ts checks this on the wire).
 *
 * Checked in each answer, first that applies:
 *   1. the store echoes ChecksumCRC32C (AWS does when it validated it): it must be ours;
 *   2. else the ETag, when it is a plain 32-hex MD5 (PutObject and UploadPart on stores
 *      without SSE-KMS/SSE-C, s3rver included), must be the MD5 of the body we sent;
 *   3. else nothing can be checked at upload time (`verifyEtagMd5: false`, or a store
 *      that neither validates checksums nor uses MD5 ETags): restore still checks every
 *      file's size and CRC-32C from `_metadata` while downloading.
 * A mismatch is UploadCorrupted, classified transient: the request is sent again from
 * the in-memory buffer. The Complete answer's composite checksum ("<base64>-<parts>"),
 * when present, must equal the CRC-32C of the parts' CRC-32Cs.
 */
import { createHash } from 'node:crypto';
import { crc32c } from '../util/crc32c.ts';

/** base64 of the big-endian CRC-32C, as S3's x-amz-checksum-crc32c wants it. */
export function crc32cBase64(value: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b.toString('base64');
}

/** The composite checksum S3 reports for a multipart upload: CRC-32C of the concatenated part CRCs, "-<parts>". */
export function compositeCrc32cBase64(partCrcs: readonly number[]): string {
  const all = Buffer.alloc(4 * partCrcs.length);
  partCrcs.forEach((c, i) => all.writeUInt32BE(c >>> 0, 4 * i));
  return `${crc32cBase64(crc32c(all))}-${partCrcs.length}`;
}

/** The answer to an upload request, as far as integrity goes. */
export interface UploadAnswer {
  ETag?: string | undefined;
  ChecksumCRC32C?: string | undefined;
}

/** Thrown when the store's answer shows it stored other bytes than we sent. Transient: send again. */
export class UploadCorrupted extends Error {
  override readonly name = 'UploadCorrupted';
}

/**
 * Checks the answer to a PutObject/UploadPart of `body` whose CRC-32C is `crc`. Returns
 * how it was verified ('checksum', 'etag-md5') or 'unverified'; throws UploadCorrupted.
 */
export function checkUploadAnswer(what: string, body: Uint8Array, crc: number, answer: UploadAnswer, verifyEtagMd5: boolean): 'checksum' | 'etag-md5' | 'unverified' {
  const sent = crc32cBase64(crc);
  if (answer.ChecksumCRC32C !== undefined && answer.ChecksumCRC32C !== '') {
    if (answer.ChecksumCRC32C !== sent) {
      throw new UploadCorrupted(`${what}: the store reports CRC-32C ${answer.ChecksumCRC32C}, we sent ${sent}`);
    }
    return 'checksum';
  }
  const etag = (answer.ETag ?? '').replace(/^W\//, '').replace(/"/g, '').toLowerCase();
  if (verifyEtagMd5 && /^[0-9a-f]{32}$/.test(etag)) {
    const md5 = createHash('md5').update(body).digest('hex');
    if (md5 !== etag) throw new UploadCorrupted(`${what}: the store's ETag ${etag} is not the MD5 ${md5} of the ${body.length} bytes we sent (corrupted in transit)`);
    return 'etag-md5';
  }
  return 'unverified';
}
