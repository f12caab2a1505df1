// The console's entry: sign in with a pasted token (kept in this tab's
// sessionStorage only), then the panels, each loading when it is shown.
import { agentsPanel } from './agents.js';
import { alertChannelsPanel } from './alert-channels.js';
import { alertsPanel } from './alerts.js';
import { type Api, createApi } from './api.js';
import { apiKeysPanel } from './api-keys.js';
import { chatPanel } from './chat.js';
import { byId, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import { modelsPanel } from './models.js';
import { providersPanel } from './providers.js';
import { settingsPanel } from './settings.js';
import { usagePanel } from './usage.js';

const Viewer = graphql(`
  query ConsoleViewer {
    viewer { userId workspaceId role }
  }
`);

const TOKEN_KEY = 'gateway-console-token';
const signIn = byId('sign-in');
const signInForm = byId<HTMLFormElement>('sign-in-form');
const signInError = byId('sign-in-error');
const consoleMain = byId('console');
const signOut = byId<HTMLButtonElement>('sign-out');

async function start(token: string): Promise<void> {
  const api = createApi(token);
  let viewer;
  try {
    ({ viewer } = await api.request(Viewer));
  } catch (error) {
    api.close();
    sessionStorage.removeItem(TOKEN_KEY);
    showError(signInError, error);
    signIn.hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  byId('viewer').textContent = `${viewer.userId} · ${viewer.workspaceId} · ${viewer.role}`;
  signIn.hidden = true;
  consoleMain.hidden = false;
  signOut.hidden = false;
  openPanels(api, viewer.role !== 'MEMBER');
}

function openPanels(api: Api, isAdmin: boolean): void {
  let current = 'providers';
  const chat = chatPanel(api);
  const alerts = alertsPanel(api, () => current === 'alerts');
  const channels = alertChannelsPanel(api);
  const panels: Record<string, { show(): Promise<void> | void }> = {
    providers: providersPanel(api, isAdmin, (providers) => chat.setProviders(providers)),
    usage: usagePanel(api, isAdmin),
    models: modelsPanel(api),
    alerts: { show: async () => void (await Promise.all([alerts.show(), channels.show()])) },
    chat,
    settings: settingsPanel(api, isAdmin),
    agents: agentsPanel(api, isAdmin),
    apikeys: apiKeysPanel(api, isAdmin),
  };
  const tabs = [...byId('tabs').querySelectorAll<HTMLButtonElement>('button[data-tab]')];
  const show = (name: string) => {
    current = name;
    for (const tab of tabs) tab.setAttribute('aria-selected', String(tab.dataset.tab === name));
    for (const panel of document.querySelectorAll<HTMLElement>('[data-panel]')) panel.hidden = panel.dataset.panel !== name;
    void panels[name]!.show();
  };
  for (const tab of tabs) tab.addEventListener('click', () => show(tab.dataset.tab!));
  // Alerts are for admins and owners; a member's console leaves the feed out.
  if (isAdmin) alerts.listen();
  else tabs.find((tab) => tab.dataset.tab === 'alerts')!.hidden = true;
  show('providers');
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  signInError.textContent = '';
  const token = String(new FormData(signInForm).get('token') ?? '')
    .trim()
    .replace(/^Bearer\s+/i, '');
  void start(token);
});

signOut.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) void start(saved);
else signIn.hidden = false;
