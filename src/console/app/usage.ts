// Usage: tokens and cost per day, week or month (in the workspace's time zone),
// stacked by one dimension and narrowed by filters, from the `usage` report; the
// calls behind it, a page at a time from `usageEvents`; and the CSV export of
// what is on screen (same range, bucket, stacking and filters); for admins, the
// bill check of the same range.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import type { Api } from './api.js';
import { billCheck } from './bill-check.js';
import { byId, formatTokens, formatUsd, formFields, h, plural, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ConsoleUsageEventsQuery, ConsoleUsageQuery, TimeBucket, UsageDimension, UsageFilter, UsageStatus } from './generated/graphql.js';
import { type KindNames, kindNames } from './kinds.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const ConsoleUsageContext = graphql(`
  query ConsoleUsageContext {
    preferences { timezone }
    providers { id label }
  }
`);

const ConsoleUsage = graphql(`
  query ConsoleUsage($range: DateRangeInput!, $groupBy: [UsageDimension!], $bucket: TimeBucket!, $filter: UsageFilter) {
    usage(range: $range, groupBy: $groupBy, bucket: $bucket, filter: $filter) {
      totals { requests failedRequests totalTokens costUsd }
      groups { key label }
      series { bucketStart key totals { totalTokens costUsd } }
    }
  }
`);

const ConsoleUsageEvents = graphql(`
  query ConsoleUsageEvents($range: DateRangeInput!, $filter: UsageFilter, $first: Int!, $after: String) {
    usageEvents(range: $range, filter: $filter, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id createdAt providerId kind model agent operation userId status streamed
          promptTokens cachedPromptTokens completionTokens reasoningTokens totalTokens costUsd providerCostUsd durationMs errorCode fallbackFrom
        }
      }
    }
  }
`);

const LOG_PAGE_SIZE = 25;
const LIST_FILTERS = ['providerIds', 'models', 'agents', 'operations', 'userIds'] as const;
const COLOURS = ['#2f5bd3', '#e07b39', '#1b9e77', '#a23b72', '#7a8b99', '#d4a017', '#5b3fd3', '#c0392b'];
const STATUS_NAMES: Record<UsageStatus, string> = {
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  ABANDONED: 'Abandoned',
  RESERVED: 'In flight',
};
const BUCKET_NAMES: Record<TimeBucket, string> = { HOUR: 'hour', DAY: 'day', WEEK: 'week', MONTH: 'month' };

type Report = ConsoleUsageQuery['usage'];
type UsageEvent = ConsoleUsageEventsQuery['usageEvents']['edges'][number]['node'];

/** What the controls ask for, in the API's terms: the chart, the log and the export all read the same one. */
interface View {
  range: { from: string; to: string };
  bucket: TimeBucket;
  groupBy: UsageDimension;
  filter: UsageFilter;
}

export function usagePanel(api: Api, isAdmin: boolean) {
  const controls = byId<HTMLFormElement>('usage-controls');
  const error = byId('usage-error');
  const totals = byId('usage-totals');
  const zoneNote = byId('usage-zone');
  const providerSelect = controls.querySelector<HTMLSelectElement>('select[name=providerId]')!;
  const tokensChart = stackedBarChart(byId<HTMLCanvasElement>('usage-tokens-chart'), (value) => formatTokens(value));
  const costChart = stackedBarChart(byId<HTMLCanvasElement>('usage-cost-chart'), (value) => formatUsd(value));
  const log = byId('usage-log').querySelector('tbody')!;
  const logStatus = byId('usage-log-status');
  const newer = byId<HTMLButtonElement>('usage-log-newer');
  const older = byId<HTMLButtonElement>('usage-log-older');
  const exportStatus = byId('usage-export-status');
  const bill = isAdmin ? billCheck(api) : undefined;
  // A member's report holds only their own calls: grouping or filtering by person is an admin's question.
  for (const field of byId('panel-usage').querySelectorAll<HTMLElement>('[data-admin]')) field.hidden = !isAdmin;

  let timeZone = 'UTC';
  let labels = new Map<string, string>();
  let kinds: KindNames | undefined;
  let view: View | undefined;
  // The log's pages: the cursor each was read after (the connection goes forward only).
  let afters: Array<string | undefined> = [undefined];
  let olderCursor: string | undefined;
  /** Every event read since the view changed, by id: a fallback chain is drawn from the attempts it links. */
  let seen = new Map<string, UsageEvent>();
  // Answers to an earlier view that arrive late are dropped.
  let generation = 0;

  async function loadContext(): Promise<void> {
    const [{ preferences, providers }, names] = await Promise.all([api.request(ConsoleUsageContext), kindNames(api)]);
    kinds = names;
    timeZone = preferences.timezone;
    labels = new Map(providers.map((provider) => [provider.id, provider.label]));
    const chosen = providerSelect.value;
    providerSelect.replaceChildren(h('option', { value: '' }, 'Any'), ...providers.map((provider) => h('option', { value: provider.id }, provider.label)));
    providerSelect.value = labels.has(chosen) ? chosen : '';
  }

  function readView(): View {
    const { days = '30', bucket = 'DAY', groupBy = 'PROVIDER', providerId, model, agent, operation, userId, success } = formFields(controls);
    // Whole local days of the workspace: from the start of the day `days - 1` days ago to the end of today.
    const today = localDay(new Date(), timeZone);
    const range = { from: zonedMidnight(addDays(today, 1 - Number(days)), timeZone).toISOString(), to: zonedMidnight(addDays(today, 1), timeZone).toISOString() };
    const filter: UsageFilter = {
      ...(providerId ? { providerIds: [providerId] } : {}),
      ...(model ? { models: [model] } : {}),
      ...(agent ? { agents: [agent] } : {}),
      ...(operation ? { operations: [operation] } : {}),
      ...(userId && isAdmin ? { userIds: [userId] } : {}),
      ...(success ? { success: success === 'true' } : {}),
    };
    return { range, bucket: bucket as TimeBucket, groupBy: groupBy as UsageDimension, filter };
  }

  async function show(): Promise<void> {
    try {
      await loadContext();
    } catch (failure) {
      showError(error, failure);
      return;
    }
    await reload();
  }

  /** The controls changed: the chart again and the log from its newest page. */
  async function reload(): Promise<void> {
    view = readView();
    afters = [undefined];
    seen = new Map();
    exportStatus.textContent = '';
    zoneNote.textContent = `Days, weeks and months in ${timeZone}, the workspace's time zone.`;
    await Promise.all([loadReport(view, ++generation), loadLog(view, generation), bill?.show(view.range, kinds)]);
  }

  async function loadReport(asked: View, current: number): Promise<void> {
    try {
      const { usage } = await api.request(ConsoleUsage, { range: asked.range, groupBy: [asked.groupBy], bucket: asked.bucket, filter: asked.filter });
      if (current !== generation) return;
      error.textContent = '';
      const { requests, failedRequests, totalTokens, costUsd } = usage.totals;
      totals.textContent = `${plural(requests, 'request')} (${formatTokens(failedRequests)} failed) · ${plural(totalTokens, 'token')} · ${formatUsd(costUsd)}`;
      const label = bucketLabel(asked.bucket, timeZone);
      draw(tokensChart, usage, label, (point) => point.totals.totalTokens);
      draw(costChart, usage, label, (point) => point.totals.costUsd);
      byId('usage-tokens-caption').textContent = `Tokens per ${BUCKET_NAMES[asked.bucket]}`;
      byId('usage-cost-caption').textContent = `Cost per ${BUCKET_NAMES[asked.bucket]} (USD)`;
    } catch (failure) {
      if (current === generation) showError(error, failure);
    }
  }

  async function loadLog(asked: View, current: number): Promise<void> {
    const page = afters.length - 1;
    try {
      const { usageEvents } = await api.request(ConsoleUsageEvents, { range: asked.range, filter: asked.filter, first: LOG_PAGE_SIZE, after: afters.at(-1) });
      if (current !== generation) return;
      const events = usageEvents.edges.map((edge) => edge.node);
      for (const event of events) seen.set(event.id, event);
      olderCursor = usageEvents.pageInfo.hasNextPage ? (usageEvents.pageInfo.endCursor ?? undefined) : undefined;
      older.disabled = olderCursor === undefined;
      newer.disabled = page === 0;
      logStatus.textContent = events.length
        ? `Calls ${page * LOG_PAGE_SIZE + 1}–${page * LOG_PAGE_SIZE + events.length}, newest first${olderCursor ? '' : ' (the oldest in the range)'}`
        : 'No calls in this range match: widen the range or clear a filter.';
      log.replaceChildren(...events.map(logRow));
    } catch (failure) {
      if (current === generation) showError(logStatus, failure);
    }
  }

  const providerName = (event: Pick<UsageEvent, 'providerId' | 'kind'>) =>
    (event.providerId && labels.get(event.providerId)) || `${kinds?.name(event.kind) ?? event.kind} (removed)`;

  function logRow(event: UsageEvent): HTMLTableRowElement {
    const cached = event.cachedPromptTokens ? ` (${formatTokens(event.cachedPromptTokens)} cached)` : '';
    const reasoning = event.reasoningTokens ? ` (${formatTokens(event.reasoningTokens)} reasoning)` : '';
    return h(
      'tr',
      { data: { eventId: event.id, status: event.status } },
      h('td', { class: 'time' }, formatInZone(event.createdAt, timeZone)),
      h('td', {}, h('strong', {}, providerName(event)), h('div', { class: 'muted' }, event.model)),
      h('td', {}, event.agent ?? '—', h('div', { class: 'muted' }, event.operation ?? '')),
      isAdmin && h('td', { class: 'muted' }, event.userId ?? '—'),
      h(
        'td',
        {},
        h('span', { class: `status tone-${event.status === 'SUCCEEDED' ? 'ok' : event.status === 'FAILED' ? 'bad' : 'off'}` }, STATUS_NAMES[event.status]),
        event.errorCode ? h('div', { class: 'muted' }, event.errorCode) : null,
      ),
      h('td', { class: 'tokens' }, `${formatTokens(event.promptTokens)} in${cached}`, h('br'), `${formatTokens(event.completionTokens)} out${reasoning}`),
      h('td', {}, formatUsd(event.costUsd), event.providerCostUsd === null ? null : h('div', { class: 'muted' }, `provider: ${formatUsd(event.providerCostUsd)}`)),
      h('td', { class: 'fallback' }, fallbackChain(event)),
    );
  }

  /** "OpenAI prod ✗ (UPSTREAM_ERROR) → this": the attempts this call fell back from, oldest first, as far as they were read. */
  function fallbackChain(event: UsageEvent): string {
    const steps: string[] = [];
    let from = event.fallbackFrom;
    while (from && steps.length < 10) {
      const earlier = seen.get(from);
      if (!earlier) {
        steps.unshift('an earlier attempt');
        break;
      }
      steps.unshift(`${providerName(earlier)} ${earlier.model} ✗${earlier.errorCode ? ` (${earlier.errorCode})` : ''}`);
      from = earlier.fallbackFrom;
    }
    return steps.length ? `after ${steps.join(' → ')}` : '—';
  }

  /** The CSV of what is on screen: the chart's series (`series`) or the log's calls (`calls`), same range and filters. */
  async function exportCsv(what: 'series' | 'calls'): Promise<void> {
    if (!view) return;
    const params = new URLSearchParams({ from: view.range.from, to: view.range.to });
    if (what === 'series') {
      params.set('groupBy', view.groupBy);
      params.set('bucket', view.bucket);
    }
    // The export takes the filter's lists as repeated parameters of the same names.
    for (const name of LIST_FILTERS) for (const value of view.filter[name] ?? []) params.append(name, String(value));
    if (view.filter.success != null) params.set('success', String(view.filter.success));
    exportStatus.textContent = 'Exporting…';
    try {
      const { blob, filename } = await api.download(`/export/usage.csv?${params}`);
      const link = h('a', {});
      link.href = URL.createObjectURL(blob);
      link.download = filename;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      exportStatus.textContent = `Saved ${filename}`;
    } catch (failure) {
      showError(exportStatus, failure);
    }
  }

  controls.addEventListener('change', () => void reload());
  controls.addEventListener('submit', (event) => {
    event.preventDefault();
    void reload();
  });
  older.addEventListener('click', () => {
    if (!view || olderCursor === undefined) return;
    afters.push(olderCursor);
    void loadLog(view, generation);
  });
  newer.addEventListener('click', () => {
    if (!view || afters.length === 1) return;
    afters.pop();
    void loadLog(view, generation);
  });
  byId('usage-export-series').addEventListener('click', () => void exportCsv('series'));
  byId('usage-export-calls').addEventListener('click', () => void exportCsv('calls'));
  return { show };
}

function stackedBarChart(canvas: HTMLCanvasElement, format: (value: number) => string): Chart<'bar'> {
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      animation: false,
      responsive: true,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { callback: (value) => format(Number(value)) } } },
      plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${format(Number(item.raw))}` } } },
    },
  });
}

/** One dataset per group, one bar per bucket; the series already has every (bucket, group) pair, empty ones as zero. */
function draw(chart: Chart<'bar'>, report: Report, label: (bucketStart: string) => string, value: (point: Report['series'][number]) => number): void {
  const buckets = [...new Set(report.series.map((point) => point.bucketStart))].sort();
  const groups = report.groups.map((group) => ({ id: JSON.stringify(group.key), label: group.label }));
  const byBucketAndGroup = new Map(report.series.map((point) => [`${point.bucketStart}|${JSON.stringify(point.key)}`, value(point)]));
  chart.data.labels = buckets.map(label);
  chart.data.datasets = groups.map((group, index) => ({
    label: group.label,
    data: buckets.map((bucket) => byBucketAndGroup.get(`${bucket}|${group.id}`) ?? 0),
    backgroundColor: COLOURS[index % COLOURS.length],
  }));
  chart.update();
}

/** A bucket's name as the workspace's clock reads it: "3 Nov", "w/c 3 Nov", "Nov 2026". */
function bucketLabel(bucket: TimeBucket, timeZone: string): (bucketStart: string) => string {
  const day = new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short' });
  if (bucket === 'MONTH') {
    const month = new Intl.DateTimeFormat('en-GB', { timeZone, month: 'short', year: 'numeric' });
    return (start) => month.format(new Date(start));
  }
  if (bucket === 'HOUR') {
    const hour = new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
    return (start) => hour.format(new Date(start));
  }
  return bucket === 'WEEK' ? (start) => `w/c ${day.format(new Date(start))}` : (start) => day.format(new Date(start));
}

const formatInZone = (iso: string, timeZone: string) => new Date(iso).toLocaleString('en-GB', { timeZone, dateStyle: 'short', timeStyle: 'medium' });

/** "2026-11-26": the calendar day of `at` in `timeZone`. */
function localDay(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

function addDays(day: string, days: number): string {
  const at = new Date(`${day}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

/** How far `timeZone`'s clock is ahead of UTC at `at`, in milliseconds. */
function offsetMs(at: Date, timeZone: string): number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const part = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, Number(p.value)]));
  return Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!) - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant `day` starts in `timeZone`; the offset is read twice, as it may change between the guess and the answer (DST). */
function zonedMidnight(day: string, timeZone: string): Date {
  const wall = Date.parse(`${day}T00:00:00Z`);
  let at = wall - offsetMs(new Date(wall), timeZone);
  at = wall - offsetMs(new Date(at), timeZone);
  return new Date(at);
}
