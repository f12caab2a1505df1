// Images for a protocol that takes only their bytes (Gemini's inlineData): a
// data: URL is decoded, any other URL fetched by the gateway through the
// egress-guarded fetch, so a client cannot make it read a private address, and
// bounded, so a client cannot make it hold an endless body.
import { EgressRefused } from '../../../net/egress.js';
import { MAX_IMAGE_BYTES } from '../../chat/chat-checks.js';
import { ProviderCallError } from './adapter.js';

const tooLarge = `it is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MiB`;

export interface InlineImage {
  mimeType: string;
  /** Base64. */
  data: string;
}

/** The image's type and bytes; a URL that gives none (refused, too large, not an image) is the caller's error. */
export async function inlineImage(fetch: typeof globalThis.fetch, url: string, signal: AbortSignal): Promise<InlineImage> {
  if (url.startsWith('data:')) return decodeDataUrl(url);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'image/*' }, signal });
  } catch (error) {
    if (signal.aborted) throw error;
    throw unusable(isEgressRefusal(error) ? 'the egress policy refuses it (a private address, or a redirect)' : 'it could not be fetched');
  }
  const mimeType = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (!response.ok) return discard(response, `its server answered HTTP ${response.status}`);
  if (!mimeType.startsWith('image/')) return discard(response, `it is ${mimeType || 'of no content type'}, not an image`);
  if (Number(response.headers.get('content-length')) > MAX_IMAGE_BYTES) return discard(response, tooLarge);
  const bytes = await readBounded(response.body, signal);
  return { mimeType, data: bytes.toString('base64') };
}

/** The core let through only base64 data: URLs of images. */
function decodeDataUrl(url: string): InlineImage {
  const [header, data] = url.split(',', 2);
  return { mimeType: header.slice('data:'.length).split(';')[0].toLowerCase(), data };
}

/** The body, read piece by piece and given up as soon as it passes the cap. */
async function readBounded(body: ReadableStream<Uint8Array> | null, signal: AbortSignal): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  let size = 0;
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      size += read.value.byteLength;
      if (size > MAX_IMAGE_BYTES) throw unusable(tooLarge);
      pieces.push(read.value);
    }
  } catch (error) {
    if (error instanceof ProviderCallError || signal.aborted) throw error;
    throw unusable('it could not be read');
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(pieces);
}

async function discard(response: Response, reason: string): Promise<never> {
  await response.body?.cancel().catch(() => undefined);
  throw unusable(reason);
}

function unusable(reason: string): ProviderCallError {
  return new ProviderCallError('BAD_USER_INPUT', `An image in the messages cannot be used: ${reason}`, undefined, false, undefined, { field: 'messages' });
}

/** The guarded fetch refuses a literal address itself, and a resolved one at connect time (then inside fetch's own error). */
function isEgressRefusal(error: unknown): boolean {
  return error instanceof EgressRefused || (error as { cause?: unknown } | undefined)?.cause instanceof EgressRefused;
}
