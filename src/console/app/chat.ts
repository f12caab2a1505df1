// The chat playground: a conversation kept in the page and sent whole on every turn over `chatStream`
// (graphql-ws), with the system prompt, tools and max tokens as they are set when the turn starts. Tool
// calls stream in as the model makes them; each gets a form to answer it by hand, and once every call of
// the turn has its result the conversation goes on. Stop completes the subscription, which cancels the
// upstream call.
import { type Api, ApiError } from './api.js';
import { byId, formatTokens, formatUsd, formFields, h, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ChatInput, ChatMessageInput, ContentPartInput } from './generated/graphql.js';

const ConsoleChat = graphql(`
  subscription ConsoleChat($input: ChatInput!) {
    chatStream(input: $input) {
      type index delta tokensSoFar providerId model fallbackReason finishReason errorCode message
      toolIndex toolCallId toolName argumentsDelta
      usage { promptTokens completionTokens totalTokens usageSource }
    }
  }
`);

const EstimateCost = graphql(`
  query ConsoleEstimateCost($input: ChatInput!) {
    estimateCost(input: $input) { lowUsd highUsd candidates { providerId model } }
  }
`);

const WorkspaceLimits = graphql(`
  query ConsoleWorkspaceLimits {
    preferences { maxTokensPerRequest workspaceDailyTokenLimit workspaceMonthlyBudgetUsd timezone }
  }
`);

/** The image types every protocol takes (the API refuses others). */
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const MAX_IMAGE_BYTES = 512 * 1024;
const MAX_IMAGES_PER_MESSAGE = 4;
/** The whole conversation goes in one WebSocket message, which the gateway bounds (WS_MAX_PAYLOAD_BYTES, 1 MiB by default). */
const MAX_CONVERSATION_IMAGE_CHARS = 768 * 1024;

interface Attachment {
  name: string;
  url: string;
}

/** What a turn is sent with, as the form gives it. */
interface TurnSettings {
  system?: string;
  tools?: unknown;
  providerId?: string;
  model?: string;
  agent?: string;
  maxTokens?: string;
}

interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A variable that does not fit the schema names no field; its message gives the path (`at "input.tools[0]"`). */
const fieldOf = (error: ApiError) => error.field ?? /at "input\.(\w+)/.exec(error.message)?.[1];

const readDataUrl = (file: File) =>
  new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error(`Could not read ${file.name}`));
    reader.readAsDataURL(file);
  });

function image(attachment: Attachment): HTMLImageElement {
  const element = h('img');
  element.src = attachment.url;
  element.alt = attachment.name;
  return element;
}

export function chatPanel(api: Api) {
  const form = byId<HTMLFormElement>('chat-form');
  const send = byId<HTMLButtonElement>('chat-send');
  const stop = byId<HTMLButtonElement>('chat-stop');
  const clear = byId<HTMLButtonElement>('chat-clear');
  const transcript = byId('chat-output');
  const limits = byId('chat-limits');
  const estimate = byId('chat-estimate-result');
  const attachmentList = byId('chat-attachments');
  const providerSelect = form.querySelector<HTMLSelectElement>('select[name=providerId]')!;
  const imageInput = form.querySelector<HTMLInputElement>('input[name=images]')!;
  const fieldErrors = [...form.querySelectorAll<HTMLElement>('[data-error-for]')];
  let providerLabels = new Map<string, string>();
  /** What the next turn sends after the system prompt: user, assistant and tool messages, in order. */
  let conversation: ChatMessageInput[] = [];
  let attachments: Attachment[] = [];
  /** Ends the turn being streamed, as Stop does. */
  let stopTurn: (() => void) | undefined;

  const labelOf = (providerId: string | null | undefined) => providerLabels.get(providerId ?? '') ?? providerId ?? 'unknown provider';
  const imageChars = (messages: ChatMessageInput[]) => messages.flatMap((message) => message.parts ?? []).reduce((sum, part) => sum + (part.imageUrl?.length ?? 0), 0);

  function setState(state: 'ready' | 'streaming' | 'tool-calls' | 'done'): void {
    form.dataset.state = state;
    send.disabled = state === 'streaming' || state === 'tool-calls';
    stop.disabled = state !== 'streaming';
  }

  /** Where an error about an input field shows: beside the field (`messages`: the message and its images). */
  const errorFor = (field: string | undefined) => fieldErrors.find((element) => element.dataset.errorFor === field);
  const clearErrors = () => {
    for (const element of fieldErrors) element.textContent = '';
  };

  /** An API error next to the field it concerns, else in `fallback`. */
  function showApiError(failure: unknown, fallback: HTMLElement): void {
    showError(errorFor(failure instanceof ApiError ? fieldOf(failure) : undefined) ?? fallback, failure);
  }

  function showAttachments(): void {
    attachmentList.replaceChildren(
      ...attachments.map((attachment) =>
        h(
          'li',
          {},
          image(attachment),
          h('span', {}, attachment.name),
          h('button', { type: 'button', title: `Remove ${attachment.name}`, onclick: () => ((attachments = attachments.filter((a) => a !== attachment)), showAttachments()) }, '×'),
        ),
      ),
    );
  }

  imageInput.addEventListener('change', async () => {
    const imagesError = errorFor('messages')!;
    imagesError.textContent = '';
    const files = [...(imageInput.files ?? [])];
    imageInput.value = '';
    const budget = MAX_CONVERSATION_IMAGE_CHARS - imageChars(conversation);
    for (const file of files) {
      if (attachments.length >= MAX_IMAGES_PER_MESSAGE) return void (imagesError.textContent = `At most ${MAX_IMAGES_PER_MESSAGE} images a message.`);
      if (!IMAGE_TYPES.includes(file.type)) return void (imagesError.textContent = `${file.name}: a PNG, JPEG, GIF or WebP image, please.`);
      if (file.size > MAX_IMAGE_BYTES) return void (imagesError.textContent = `${file.name}: an image may be at most ${MAX_IMAGE_BYTES / 1024} KiB here.`);
      const url = await readDataUrl(file);
      if (attachments.reduce((sum, attachment) => sum + attachment.url.length, url.length) > budget) {
        return void (imagesError.textContent = `${file.name}: the conversation's images would not fit in one message to the gateway; clear the conversation first.`);
      }
      attachments.push({ name: file.name, url });
      showAttachments();
    }
  });

  /** What a turn sends: the settings, the system prompt, the conversation, then `unsent` (the message typed, for an estimate). */
  function turnInput(settings: TurnSettings, unsent: ChatMessageInput[] = []): ChatInput {
    return {
      providerId: settings.providerId,
      model: settings.model,
      agent: settings.agent,
      maxTokens: settings.maxTokens ? Number(settings.maxTokens) : undefined,
      tools: settings.tools as never,
      messages: [...(settings.system ? [{ role: 'SYSTEM' as const, content: settings.system }] : []), ...conversation, ...unsent],
    };
  }

  /** The form's settings with its tools parsed; undefined (the error shown beside the tools) when they are not JSON. */
  function readSettings(): (TurnSettings & { content?: string }) | undefined {
    const { providerId, model, agent, maxTokens, system, tools: toolsText, content } = formFields(form);
    try {
      return { providerId, model, agent, maxTokens, system, content, tools: toolsText ? JSON.parse(toolsText) : undefined };
    } catch (failure) {
      byId('chat-tools').setAttribute('open', '');
      showError(errorFor('tools')!, new ApiError(`Not JSON: ${(failure as Error).message}`, 'INVALID_JSON'));
      return undefined;
    }
  }

  /** The message typed and the images attached, as the next user message; none when both are empty. */
  function typedMessage(content: string | undefined): ChatMessageInput[] {
    if (!content && attachments.length === 0) return [];
    const parts: ContentPartInput[] = [...(content ? [{ type: 'TEXT' as const, text: content }] : []), ...attachments.map((a) => ({ type: 'IMAGE' as const, imageUrl: a.url }))];
    return [attachments.length > 0 ? { role: 'USER', parts } : { role: 'USER', content }];
  }

  /** Streams one answer to the conversation as it stands, drawn as a new assistant turn. */
  function runTurn(settings: TurnSettings): void {
    const route = h('p', { class: 'route' });
    const thinking = h('pre', { class: 'thinking' });
    const text = h('pre', { class: 'text' });
    const calls = h('ol', { class: 'tool-calls' });
    const usage = h('p', { class: 'usage' });
    const failure = h('p', { class: 'error' });
    failure.setAttribute('role', 'alert');
    const turn = h('li', { class: 'turn assistant' }, h('span', { class: 'who' }, 'Assistant'), route, thinking, text, calls, usage, failure);
    transcript.append(turn);
    const toolCalls: ToolCall[] = [];
    const callElements: HTMLElement[] = [];
    let ended = false;
    setState('streaming');

    const end = (outcome: { finishReason?: string | null; failure?: unknown; stopped?: boolean }) => {
      if (ended) return;
      ended = true;
      stopTurn = undefined;
      const answer = text.textContent ?? '';
      if (outcome.failure) showApiError(outcome.failure, failure);
      if (outcome.stopped) usage.append(h('span', { class: 'muted' }, ' · stopped'));
      if (outcome.finishReason !== undefined) usage.append(h('span', { class: 'muted' }, ` · finished: ${(outcome.finishReason ?? 'stop').replace(/_/g, ' ')}`));
      // A finished answer joins the conversation with its tool calls; a stopped one keeps its text only (a call cut short cannot be answered).
      const finished = outcome.finishReason !== undefined;
      if (finished && toolCalls.length > 0) {
        conversation.push({ role: 'ASSISTANT', ...(answer ? { content: answer } : {}), toolCalls });
        askForResults(toolCalls, callElements, settings);
        return setState('tool-calls');
      }
      if (answer && (finished || outcome.stopped)) conversation.push({ role: 'ASSISTANT', content: answer });
      setState('done');
    };

    const input = turnInput(settings);
    const unsubscribe = api.subscribe(
      ConsoleChat,
      { input },
      {
        onData: ({ chatStream: chunk }) => {
          switch (chunk.type) {
            case 'START':
              // Each provider tried starts again: a later START is a fallback, with the error that left the one before.
              route.textContent = `${route.textContent ? `${route.textContent}${chunk.fallbackReason ? ` ✗ ${chunk.fallbackReason}` : ''} → fell back to ` : 'Route: '}${labelOf(chunk.providerId)} · ${chunk.model}`;
              break;
            case 'THINKING':
              thinking.append(chunk.delta ?? '');
              break;
            case 'TEXT':
              text.append(chunk.delta ?? '');
              usage.textContent = `${formatTokens(chunk.tokensSoFar ?? 0)} tokens so far`;
              break;
            case 'TOOL_CALL': {
              const index = chunk.toolIndex ?? 0;
              if (!toolCalls[index]) {
                toolCalls[index] = { id: chunk.toolCallId ?? '', name: chunk.toolName ?? '', arguments: '' };
                callElements[index] = h(
                  'li',
                  { class: 'tool-call', data: { callId: toolCalls[index].id } },
                  h('code', {}, toolCalls[index].name),
                  h('pre', { class: 'arguments' }),
                );
                calls.append(callElements[index]);
              }
              toolCalls[index].arguments += chunk.argumentsDelta ?? '';
              callElements[index]!.querySelector('pre')!.textContent = toolCalls[index].arguments;
              break;
            }
            case 'USAGE':
              if (chunk.usage) {
                const { promptTokens, completionTokens, totalTokens, usageSource } = chunk.usage;
                usage.textContent = `${formatTokens(totalTokens)} tokens (${formatTokens(promptTokens)} prompt + ${formatTokens(completionTokens)} completion, ${usageSource.toLowerCase()})`;
              }
              break;
            case 'DONE':
              end({ finishReason: chunk.finishReason });
              break;
            case 'ERROR':
              end({ failure: new ApiError(chunk.message ?? 'The call failed', chunk.errorCode ?? 'ERROR') });
              break;
          }
        },
        onEnd: (failed) => end(failed ? { failure: failed } : {}),
      },
    );
    stopTurn = () => {
      unsubscribe();
      end({ stopped: true });
    };
  }

  /** A form per tool call; when the last one is answered, the results go back and the model goes on. */
  function askForResults(toolCalls: ToolCall[], elements: HTMLElement[], settings: TurnSettings): void {
    const results = new Map<string, string>();
    toolCalls.forEach((call, index) => {
      const result = h('textarea', {});
      Object.assign(result, { name: 'result', rows: 2, required: true, maxLength: 100_000, placeholder: `What ${call.name} returned` });
      const answer = h('form', { class: 'tool-result' }, h('label', { class: 'wide' }, `Result of ${call.name}`, result), h('button', { type: 'submit' }, 'Send result'));
      answer.addEventListener('submit', (event) => {
        event.preventDefault();
        results.set(call.id, result.value);
        answer.replaceWith(h('p', { class: 'result' }, h('span', { class: 'who' }, 'Result'), result.value));
        if (results.size < toolCalls.length) return;
        for (const { id } of toolCalls) conversation.push({ role: 'TOOL', toolCallId: id, content: results.get(id)! });
        runTurn(settings);
      });
      elements[index]!.append(answer);
    });
    elements[0]?.querySelector('textarea')?.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors();
    const settings = readSettings();
    if (!settings) return;
    const { content, ...turn } = settings;
    estimate.textContent = '';
    const typed = typedMessage(content);
    if (typed.length > 0) {
      conversation.push(...typed);
      transcript.append(h('li', { class: 'turn user' }, h('span', { class: 'who' }, 'You'), content && h('p', { class: 'text' }, content), ...attachments.map((a) => image(a))));
      form.querySelector<HTMLTextAreaElement>('textarea[name=content]')!.value = '';
      attachments = [];
      showAttachments();
    } else if (!['USER', 'TOOL'].includes(conversation.at(-1)?.role ?? '')) {
      // Nothing new to say, and nothing waiting for an answer (an empty Send retries a turn that failed).
      return void (errorFor('messages')!.textContent = 'Type a message or attach an image.');
    }
    runTurn(turn);
  });

  // What the next turn would cost on its route, without calling anyone (`estimateCost`).
  byId('chat-estimate').addEventListener('click', async () => {
    clearErrors();
    const settings = readSettings();
    if (!settings) return;
    const { content, ...turn } = settings;
    estimate.textContent = 'Estimating…';
    try {
      const { estimateCost } = await api.request(EstimateCost, { input: turnInput(turn, typedMessage(content)) });
      const first = estimateCost.candidates[0];
      estimate.textContent = `This turn would cost ${formatUsd(estimateCost.lowUsd)} to ${formatUsd(estimateCost.highUsd)}${first ? ` (first: ${labelOf(first.providerId)} · ${first.model})` : ''}.`;
    } catch (failure) {
      estimate.textContent = '';
      showApiError(failure, errorFor('messages')!);
    }
  });

  stop.addEventListener('click', () => stopTurn?.());

  clear.addEventListener('click', () => {
    stopTurn?.();
    conversation = [];
    attachments = [];
    showAttachments();
    transcript.replaceChildren();
    clearErrors();
    setState('ready');
  });

  return {
    /** The workspace's own limits, shown above the answer: they explain a refusal or a short answer. */
    async show(): Promise<void> {
      try {
        const { preferences } = await api.request(WorkspaceLimits, {});
        const parts = [
          preferences.workspaceDailyTokenLimit == null ? null : `${formatTokens(preferences.workspaceDailyTokenLimit)} tokens a day (${preferences.timezone})`,
          preferences.workspaceMonthlyBudgetUsd == null ? null : `${formatUsd(preferences.workspaceMonthlyBudgetUsd)} a month`,
          preferences.maxTokensPerRequest == null ? null : `at most ${formatTokens(preferences.maxTokensPerRequest)} tokens per answer`,
        ].filter(Boolean);
        limits.textContent = parts.length
          ? `This workspace's limits: ${parts.join(' · ')}. Providers may have limits of their own.`
          : 'This workspace sets no limits; providers may have their own.';
      } catch (failure) {
        showError(limits, failure);
      }
    },

    /** Keeps the provider choice in step with the providers list. */
    setProviders(providers: Array<{ id: string; label: string; kind: string }>): void {
      providerLabels = new Map(providers.map((provider) => [provider.id, provider.label]));
      const chosen = providerSelect.value;
      providerSelect.replaceChildren(
        h('option', { value: '' }, 'Route by preferences'),
        ...providers.map((provider) => h('option', { value: provider.id }, `${provider.label} (${provider.kind})`)),
      );
      providerSelect.value = providerLabels.has(chosen) ? chosen : '';
    },
  };
}
