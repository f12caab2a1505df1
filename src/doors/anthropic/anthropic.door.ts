// POST /v1/messages: the Anthropic Messages front door. Authenticated like
// every door (x-api-key or Authorization: Bearer, through authenticate()),
// translated onto the chat core (anthropic-messages.ts), answered as a Message
// or as Anthropic's SSE events. A refusal before any content is an HTTP error
// in Anthropic's shape; a failure after it, an `error` event. A client that
// goes away, or the revocation of the API key the call was made with, aborts
// the call (the core records it CANCELLED).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticate } from '../../auth/authenticate.js';
import { AppError, BadUserInputError } from '../../errors.js';
import { type OperationQuota, tooManyOperations } from '../../graphql/operation-quota.js';
import type { Logger } from '../../logging/logger.js';
import { ApiKeyRevoked } from '../../modules/apikeys/api-key-uses.js';
import type { ChatEvent } from '../../modules/chat/canonical.js';
import type { Services } from '../../services.js';
import { resolveDoorModel } from '../door-model.js';
import { readJsonBody, WireProblem } from '../openai/wire.js';
import { errorBody, parseMessagesRequest, statusOf, toChatRequest, toMessageResponse, toStreamEvents } from './anthropic-messages.js';

export const ANTHROPIC_MESSAGES_PATH = '/v1/messages';

interface AnthropicDoorDeps {
  authenticate: Authenticate;
  services: Pick<Services, 'chat' | 'routes' | 'catalog' | 'apiKeyUses'>;
  logger: Logger;
  maxBodyBytes: number;
  /** Open streams count against the same per-user bound as GraphQL subscriptions. */
  operationQuota: OperationQuota;
}

export function createAnthropicDoor({ authenticate, services, logger, maxBodyBytes, operationQuota }: AnthropicDoorDeps) {
  return async function messages(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = new AbortController();
    res.on('close', () => res.writableFinished || call.abort(new DOMException('the client went away', 'AbortError')));
    let untrack: (() => void) | undefined;
    try {
      if (req.method !== 'POST') throw new AppError('NOT_FOUND', `${req.method} ${ANTHROPIC_MESSAGES_PATH} does not exist: POST a message`);
      const apiKey = req.headers['x-api-key'];
      const authentication = await authenticate(req.headers.authorization ?? (typeof apiKey === 'string' ? `Bearer ${apiKey}` : undefined));
      if (!authentication.viewer) throw new AppError('UNAUTHENTICATED', authentication.refusal ?? 'Send your key as x-api-key, or as Authorization: Bearer');
      untrack = services.apiKeyUses.track(authentication.viewer, call);
      if (Number(req.headers['content-length']) > maxBodyBytes) {
        return sendJson(res, 413, { type: 'error', error: { type: 'request_too_large', message: `Request body exceeds ${maxBodyBytes} bytes` } });
      }
      const request = parseMessagesRequest(await readJsonBody(req, maxBodyBytes));
      const chatRequest = toChatRequest(request, await resolveDoorModel(services, authentication.viewer, request.model, 'chat'));
      const id = `msg_${randomUUID().replaceAll('-', '')}`;
      if (!request.stream) {
        const answer = await services.chat.complete(authentication.viewer, chatRequest, call.signal);
        return sendJson(res, 200, toMessageResponse(id, answer));
      }
      const giveBack = operationQuota.take(authentication.viewer);
      if (!giveBack) throw new AppError('RATE_LIMITED', tooManyOperations('operationsPerUser', operationQuota.max).message);
      try {
        await writeStream(res, toStreamEvents(id, refusedEarly(await services.chat.stream(authentication.viewer, chatRequest, call.signal))), call.signal);
      } finally {
        giveBack();
      }
    } catch (error) {
      // A client that left is past answering; one whose key was revoked mid-call is told so.
      const revoked = call.signal.reason instanceof ApiKeyRevoked;
      if (call.signal.aborted && !revoked) return;
      const failure = revoked ? call.signal.reason : error instanceof AppError ? error : unexpected(error, logger);
      if (res.headersSent) return void res.end(frame('error', errorBody(failure)));
      const retryAfter = failure.details.retryAfterSeconds;
      sendJson(res, statusOf(failure), errorBody(failure), typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {});
    } finally {
      untrack?.();
    }
  };
}

/** An error before any content is thrown, to be answered with its HTTP status; one after it stays an event. */
async function* refusedEarly(events: AsyncIterable<ChatEvent>): AsyncGenerator<ChatEvent> {
  let content = false;
  for await (const event of events) {
    if (event.type === 'error' && !content) throw event.error;
    if (event.type !== 'start') content = true;
    yield event;
  }
}

/** Frames are held until the first content (message_start and ping come first): an early refusal can still be an HTTP status. */
async function writeStream(res: ServerResponse, frames: AsyncIterable<{ event: string; data: unknown }>, signal: AbortSignal): Promise<void> {
  const held: string[] = [];
  for await (const { event, data } of frames) {
    const text = frame(event, data);
    if (!res.headersSent && (event === 'message_start' || event === 'ping')) {
      held.push(text);
      continue;
    }
    if (!res.headersSent) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(held.join(''));
    }
    // A slow client slows the read of the upstream instead of growing a buffer.
    if (!res.write(text)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
  }
  // The core ends quietly when its call is aborted: a revoked key is answered by the caller's catch.
  signal.throwIfAborted();
  res.end();
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function unexpected(error: unknown, logger: Logger): AppError {
  // The body reader is shared with the OpenAI door, which names its own parameters.
  if (error instanceof WireProblem) return new BadUserInputError(error.message, 'messages');
  logger.error({ err: error }, 'the Anthropic door failed unexpectedly');
  return new AppError('INTERNAL', 'Unexpected error');
}
