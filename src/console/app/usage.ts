// Usage graphs: tokens and cost per day, stacked by provider or model, over a
// chosen range, from the `usage` report (buckets in the workspace's time zone).
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import type { Api } from './api.js';
import { byId, formatTokens, formatUsd, formFields, plural, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ConsoleUsageQuery, UsageDimension } from './generated/graphql.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const ConsoleUsage = graphql(`
  query ConsoleUsage($range: DateRangeInput!, $groupBy: [UsageDimension!]) {
    usage(range: $range, groupBy: $groupBy, bucket: DAY) {
      totals { requests failedRequests totalTokens costUsd }
      groups { key label }
      series { bucketStart key totals { totalTokens costUsd } }
    }
  }
`);

const DAY_MS = 86_400_000;
const COLOURS = ['#2f5bd3', '#e07b39', '#1b9e77', '#a23b72', '#7a8b99', '#d4a017', '#5b3fd3', '#c0392b'];

type Report = ConsoleUsageQuery['usage'];

export function usagePanel(api: Api) {
  const controls = byId<HTMLFormElement>('usage-controls');
  const error = byId('usage-error');
  const totals = byId('usage-totals');
  const tokensChart = stackedBarChart(byId<HTMLCanvasElement>('usage-tokens-chart'), (value) => formatTokens(value));
  const costChart = stackedBarChart(byId<HTMLCanvasElement>('usage-cost-chart'), (value) => formatUsd(value));

  async function load(): Promise<void> {
    const { days = '30', groupBy = 'PROVIDER' } = formFields(controls);
    // Whole days: from the start of the day `days - 1` days ago to the end of today (local time).
    const today = new Date();
    today.setHours(0, 0, 0, 0);
    const range = { from: new Date(today.getTime() - (Number(days) - 1) * DAY_MS).toISOString(), to: new Date(today.getTime() + DAY_MS).toISOString() };
    try {
      const { usage } = await api.request(ConsoleUsage, { range, groupBy: [groupBy as UsageDimension] });
      error.textContent = '';
      const { requests, failedRequests, totalTokens, costUsd } = usage.totals;
      totals.textContent = `${plural(requests, 'request')} (${formatTokens(failedRequests)} failed) · ${plural(totalTokens, 'token')} · ${formatUsd(costUsd)}`;
      draw(tokensChart, usage, (point) => point.totals.totalTokens);
      draw(costChart, usage, (point) => point.totals.costUsd);
    } catch (failure) {
      showError(error, failure);
    }
  }

  controls.addEventListener('change', () => void load());
  return { show: load };
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

/** One dataset per group, one bar per day; the series already has every (day, group) pair, empty ones as zero. */
function draw(chart: Chart<'bar'>, report: Report, value: (point: Report['series'][number]) => number): void {
  const days = [...new Set(report.series.map((point) => point.bucketStart))].sort();
  const groups = report.groups.map((group) => ({ id: JSON.stringify(group.key), label: group.label }));
  const byDayAndGroup = new Map(report.series.map((point) => [`${point.bucketStart}|${JSON.stringify(point.key)}`, value(point)]));
  chart.data.labels = days.map((day) => new Date(day).toLocaleDateString('en-GB', { day: 'numeric', month: 'short' }));
  chart.data.datasets = groups.map((group, index) => ({
    label: group.label,
    data: days.map((day) => byDayAndGroup.get(`${day}|${group.id}`) ?? 0),
    backgroundColor: COLOURS[index % COLOURS.length],
  }));
  chart.update();
}
