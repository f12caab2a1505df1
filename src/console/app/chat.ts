// The chat playground: `chatStream` over graphql-ws, text printed as it arrives;
// Stop completes the subscription, which cancels the upstream call.
import type { Api } from './api.js';
import { byId, formatTokens, formatUsd, formFields, h, showError } from './dom.js';
import { graphql } from './generated/gql.js';

const ConsoleChat = graphql(`
  subscription ConsoleChat($input: ChatInput!) {
    chatStream(input: $input) {
      type index delta tokensSoFar providerId model finishReason errorCode message
      usage { promptTokens completionTokens totalTokens usageSource }
    }
  }
`);

const WorkspaceLimits = graphql(`
  query ConsoleWorkspaceLimits {
    preferences { maxTokensPerRequest workspaceDailyTokenLimit workspaceMonthlyBudgetUsd timezone }
  }
`);

export function chatPanel(api: Api) {
  const form = byId<HTMLFormElement>('chat-form');
  const send = byId<HTMLButtonElement>('chat-send');
  const stop = byId<HTMLButtonElement>('chat-stop');
  const route = byId('chat-route');
  const thinking = byId('chat-thinking');
  const output = byId('chat-output');
  const usage = byId('chat-usage');
  const error = byId('chat-error');
  const limits = byId('chat-limits');
  const providerSelect = form.querySelector<HTMLSelectElement>('select[name=providerId]')!;
  let providerLabels = new Map<string, string>();
  let end: (() => void) | undefined;

  function finish(): void {
    end = undefined;
    send.disabled = false;
    stop.disabled = true;
    form.dataset.state = 'done';
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const { providerId, model, agent, maxTokens, content = '' } = formFields(form);
    for (const element of [route, thinking, output, usage, error]) element.textContent = '';
    thinking.hidden = true;
    send.disabled = true;
    stop.disabled = false;
    form.dataset.state = 'streaming';
    const input = { providerId, model, agent, maxTokens: maxTokens ? Number(maxTokens) : undefined, messages: [{ role: 'USER' as const, content }] };
    end = api.subscribe(
      ConsoleChat,
      { input },
      {
        onData: ({ chatStream: chunk }) => {
          switch (chunk.type) {
            case 'START':
              // A second START means a fallback took over before any text.
              route.textContent = `${route.textContent ? `${route.textContent} → fell back to ` : ''}${providerLabels.get(chunk.providerId ?? '') ?? chunk.providerId} · ${chunk.model}`;
              break;
            case 'THINKING':
              thinking.hidden = false;
              thinking.append(chunk.delta ?? '');
              break;
            case 'TEXT':
              output.append(chunk.delta ?? '');
              usage.textContent = `${formatTokens(chunk.tokensSoFar ?? 0)} tokens so far`;
              break;
            case 'USAGE':
              if (chunk.usage) {
                const { promptTokens, completionTokens, totalTokens, usageSource } = chunk.usage;
                usage.textContent = `${formatTokens(totalTokens)} tokens (${formatTokens(promptTokens)} prompt + ${formatTokens(completionTokens)} completion, ${usageSource.toLowerCase()})`;
              }
              break;
            case 'DONE':
              usage.append(h('span', { class: 'muted' }, ` · finished: ${chunk.finishReason ?? 'stop'}`));
              break;
            case 'ERROR':
              error.textContent = `${chunk.message ?? 'The call failed'} (${chunk.errorCode ?? 'ERROR'})`;
              break;
          }
        },
        onEnd: (failure) => {
          if (failure) showError(error, failure);
          finish();
        },
      },
    );
  });

  stop.addEventListener('click', () => {
    end?.();
    usage.append(h('span', { class: 'muted' }, ' · stopped'));
    finish();
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
