/** Reads a JSON request body with a size limit, refusing anything else with a clear error. */
import { EdgeJobsError } from '../errors.ts';

/** True for `application/json` and `application/<anything>+json`, with any parameters. */
function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const type = value.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * The parsed JSON body. Throws `unsupported_media_type` (415) for another content type,
 * `payload_too_large` (413) past `maxBytes` (checked on Content-Length first, then while
 * streaming, so a lying or missing header cannot get more through), `malformed_json` (400).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  if (!isJsonContentType(request.headers.get('content-type'))) {
    throw new EdgeJobsError('unsupported_media_type', `send the body as JSON with "Content-Type: application/json" (got ${JSON.stringify(request.headers.get('content-type') ?? 'none')})`);
  }
  const tooLarge = () => new EdgeJobsError('payload_too_large', `the request body is over the limit of ${maxBytes} bytes`, { details: { limit: maxBytes } });
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (!request.body) throw new EdgeJobsError('malformed_json', 'the request body is empty; send a JSON object');
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new EdgeJobsError('malformed_json', 'the request body is not valid UTF-8');
  }
  if (!text.trim()) throw new EdgeJobsError('malformed_json', 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EdgeJobsError('malformed_json', `the request body is not valid JSON: ${(e as Error).message}`);
  }
}
