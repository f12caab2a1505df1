// The OpenAI-compatible front door: POST /v1/chat/completions (JSON or SSE), POST /v1/embeddings, GET /v1/models
// and GET /v1/models/{id}.
// It authenticates, reads and translates the request, resolves `model` (door-model.ts), calls the chat core and
// writes the answer back in OpenAI's shapes. A client that goes away, or the revocation of the API key the call
// was made with, aborts the call: the core records it CANCELLED.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticate } from '../../auth/authenticate.js';
import type { Viewer } from '../../auth/viewer.js';
import { AppError } from '../../errors.js';
import { type OperationQuota, tooManyOperations } from '../../graphql/operation-quota.js';
import type { Logger } from '../../logging/logger.js';
import { ApiKeyRevoked } from '../../modules/apikeys/api-key-uses.js';
import type { ChatEvent } from '../../modules/chat/canonical.js';
import type { Services } from '../../services.js';
import { withFields } from '../../with-fields.js';
import { resolveDoorModel, routableModel, routableModels } from '../door-model.js';
import { completionOf, createChunkTranslator, readChatBody } from './openai-chat.translate.js';
import { embeddingsResponseOf, readEmbeddingsBody } from './openai-embeddings.translate.js';
import { badRequest, type OpenAiErrorReply, openAiError, UNEXPECTED, unauthenticated } from './openai-errors.js';
import { readJsonBody, WireProblem } from './wire.js';

export interface OpenAiDoorDeps {
  services: Pick<Services, 'chat' | 'embed' | 'routes' | 'catalog' | 'apiKeyUses'>;
  authenticate: Authenticate;
  logger: Logger;
  maxRequestBodyBytes: number;
  /** The bound on a user's open streams that GraphQL's subscriptions count against too. */
  operationQuota: OperationQuota;
}

const ROUTES: Record<string, string> = { '/v1/chat/completions': 'POST', '/v1/embeddings': 'POST', '/v1/models': 'GET' };
/** GET, then a model id, URL-encoded (ids hold a slash: `<provider>/<model>`). */
const MODEL_PATH = '/v1/models/';

export const isOpenAiPath = (path: string) => Object.hasOwn(ROUTES, path) || path.startsWith(MODEL_PATH);

export function createOpenAiDoor({ services, authenticate, logger, maxRequestBodyBytes, operationQuota }: OpenAiDoorDeps) {
  const modelDeps = { routes: services.routes, catalog: services.catalog };

  /** `asked.maxTokensParam` is set to the output cap's parameter as sent, for the error that names it. */
  async function chatCompletions(req: IncomingMessage, res: ServerResponse, viewer: Viewer, signal: AbortSignal, asked: { maxTokensParam?: string }): Promise<void> {
    const call = readChatBody(await readJsonBody(req, maxRequestBodyBytes));
    asked.maxTokensParam = call.maxTokensParam;
    const choice = await resolveDoorModel(modelDeps, viewer, call.model, 'chat');
    const request = withFields(call.request, choice);
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    if (!call.stream) return sendJson(res, 200, completionOf(await services.chat.complete(viewer, request, signal), id, created));
    const giveBack = operationQuota.take(viewer);
    if (!giveBack) throw new AppError('RATE_LIMITED', tooManyOperations('operationsPerUser', operationQuota.max).message);
    try {
      await stream(
        res,
        await services.chat.stream(viewer, request, signal),
        createChunkTranslator(id, created, call.includeUsage, call.maxTokensParam),
        call.maxTokensParam,
        signal,
      );
    } finally {
      giveBack();
    }
  }

  async function stream(
    res: ServerResponse,
    events: AsyncIterable<ChatEvent>,
    translate: ReturnType<typeof createChunkTranslator>,
    maxTokensParam: string,
    signal: AbortSignal,
  ): Promise<void> {
    let finished = false;
    for await (const event of events) {
      // Until the answer's first piece, a failure (a limit, every provider down) is still an HTTP status.
      if (!res.headersSent && event.type === 'error') return sendError(res, openAiError(event.error, maxTokensParam));
      if (!res.headersSent && event.type !== 'start') res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      for (const chunk of translate(event)) await writeEvent(res, JSON.stringify(chunk));
      finished ||= event.type === 'finish';
    }
    // The core ends quietly when its call is aborted: a revoked key is answered by the door's catch.
    if (!finished) signal.throwIfAborted();
    if (finished) await writeEvent(res, '[DONE]');
    res.end();
  }

  async function embeddings(req: IncomingMessage, res: ServerResponse, viewer: Viewer, signal: AbortSignal): Promise<void> {
    const call = readEmbeddingsBody(await readJsonBody(req, maxRequestBodyBytes));
    const choice = await resolveDoorModel(modelDeps, viewer, call.model, 'embeddings');
    const answer = await services.embed(viewer, withFields(call.request, { providerId: choice.providerId, model: choice.model }), signal);
    sendJson(res, 200, embeddingsResponseOf(answer, call.base64));
  }

  async function models(res: ServerResponse, viewer: Viewer): Promise<void> {
    sendJson(res, 200, { object: 'list', data: (await routableModels(modelDeps, viewer)).map(modelObject) });
  }

  async function model(res: ServerResponse, viewer: Viewer, encodedId: string): Promise<void> {
    let id: string;
    try {
      id = decodeURIComponent(encodedId);
    } catch {
      throw new WireProblem('The model id in the path is not URL-encoded text', 'model');
    }
    sendJson(res, 200, modelObject(await routableModel(modelDeps, viewer, id)));
  }

  /** `bodyProblem`: the router's refusal of the body's declared size, answered in OpenAI's shape. */
  return async function door(req: IncomingMessage, res: ServerResponse, path: string, bodyProblem?: { status: number; message: string }): Promise<void> {
    const controller = new AbortController();
    const asked: { maxTokensParam?: string } = {};
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('The client disconnected'));
    });
    let untrack: (() => void) | undefined;
    try {
      const method = ROUTES[path] ?? 'GET';
      if (req.method !== method) return sendError(res, { ...badRequest(`${path} takes ${method}`, null), status: 405 });
      if (bodyProblem) return sendError(res, { ...badRequest(bodyProblem.message, null), status: bodyProblem.status });
      const authentication = await authenticate(req.headers.authorization);
      if (!authentication.viewer) return sendError(res, unauthenticated(authentication.refusal ?? 'Authentication required: send "Authorization: Bearer <token>"'));
      const { viewer } = authentication;
      untrack = services.apiKeyUses.track(viewer, controller);
      if (path === '/v1/models') return await models(res, viewer);
      if (path.startsWith(MODEL_PATH)) return await model(res, viewer, path.slice(MODEL_PATH.length));
      if (path === '/v1/embeddings') return await embeddings(req, res, viewer, controller.signal);
      return await chatCompletions(req, res, viewer, controller.signal, asked);
    } catch (error) {
      // A client that left is past answering; one whose key was revoked mid-call is told so.
      const revoked = controller.signal.reason instanceof ApiKeyRevoked;
      if (controller.signal.aborted && !revoked) return void res.end();
      const reply = replyOf(revoked ? controller.signal.reason : error, asked.maxTokensParam);
      if (reply === UNEXPECTED) logger.error({ err: error }, 'an OpenAI-format request failed unexpectedly');
      if (res.headersSent) return void res.end(`data: ${JSON.stringify(reply.body)}\n\n`);
      sendError(res, reply);
    } finally {
      untrack?.();
    }
  };
}

function modelObject({ id, ownedBy }: { id: string; ownedBy: string }) {
  return { id, object: 'model', created: 0, owned_by: ownedBy };
}

function replyOf(error: unknown, maxTokensParam: string | undefined): OpenAiErrorReply {
  if (error instanceof WireProblem) return badRequest(error.message, error.param);
  if (error instanceof AppError) return openAiError(error, maxTokensParam);
  return UNEXPECTED;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function sendError(res: ServerResponse, reply: OpenAiErrorReply): void {
  sendJson(res, reply.status, reply.body, reply.headers);
}

/** One SSE event, waiting for the socket to drain when it is full (a slow client slows the stream, not memory). */
async function writeEvent(res: ServerResponse, data: string): Promise<void> {
  // A socket already gone will neither drain nor close again.
  if (res.write(`data: ${data}\n\n`) || res.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}
