// The page's two charts, throughput and utilization, drawn by uPlot (loaded before this module).
import { $, clockTime, decimal, integer } from './format.js';

const CHART_POINTS = 300;
const MIN_CHART_SPAN = 20;

const chartData = { time: [], throughput: [], utilization: [] };
const charts = [];

function makeChart(element, key, color, format) {
  const chart = new uPlot(
    {
      width: Math.max(200, element.clientWidth),
      height: 150,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: { range: key === 'utilization' ? [0, 1] : (_chart, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        {
          stroke: '#6b7280',
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#eef0f3' },
          space: 80,
          values: (_chart, splits) => splits.map(clockTime),
        },
        {
          stroke: '#6b7280',
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#eef0f3' },
          size: 56,
          values: (_chart, splits) => splits.map(format),
        },
      ],
      series: [{}, { label: key, stroke: color, width: 2, fill: `${color}1f`, points: { show: false } }],
    },
    [chartData.time, chartData[key]],
    element,
  );
  charts.push({ chart, element, key });
  showData(chart, key);
}

/** Shows the chart's points over at least the last MIN_CHART_SPAN seconds, so that the first few do not stretch across it. */
function showData(chart, key) {
  chart.setData([chartData.time, chartData[key]], false);
  const last = chartData.time.at(-1);
  if (last !== undefined) chart.setScale('x', { min: Math.min(chartData.time[0], last - MIN_CHART_SPAN), max: last });
}

export function renderCharts(points) {
  if (points.length === 0) return;
  // The charts start with their first points: an empty chart has no time axis to show.
  if (charts.length === 0) startCharts();
  for (const [time, throughput, utilization] of points) {
    chartData.time.push(time);
    chartData.throughput.push(throughput);
    chartData.utilization.push(utilization);
  }
  for (const series of Object.values(chartData)) series.splice(0, Math.max(0, series.length - CHART_POINTS));
  for (const { chart, key } of charts) showData(chart, key);
}

function startCharts() {
  for (const element of document.querySelectorAll('.chart')) element.replaceChildren();
  makeChart($('#chart-throughput'), 'throughput', '#2563eb', (value) => decimal.format(value));
  makeChart($('#chart-utilization'), 'utilization', '#059669', (value) => `${integer.format(value * 100)}%`);
  const resize = new ResizeObserver(() => {
    for (const { chart, element } of charts) chart.setSize({ width: Math.max(200, element.clientWidth), height: 150 });
  });
  for (const { element } of charts) resize.observe(element);
}
