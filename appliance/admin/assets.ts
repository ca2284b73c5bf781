/**
 * The console's only static files, embedded here so that `deno compile`
 * carries them and no page needs a CDN or a build step: the stylesheet,
 * the live log's script and the bulk job's progress poller (the only two
 * scripts: pages are server-rendered and work without them).
 */

export const ASSETS: Readonly<Record<string, { type: string; body: string }>> = {
  "style.css": {
    type: "text/css; charset=utf-8",
    body:
      `body { font-family: system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
header { display: flex; justify-content: space-between; align-items: center; background: #24292f;
  padding: 0.5rem 1rem; }
header a { color: #fff; margin-right: 1rem; text-decoration: none; }
header a:hover { text-decoration: underline; }
main { padding: 1rem 2rem; max-width: 80rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; background: #fff; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
pre, textarea { font-family: ui-monospace, monospace; font-size: 0.85rem; }
pre { background: #fff; border: 1px solid #d0d7de; padding: 0.5rem; overflow-x: auto; }
textarea { width: 100%; min-height: 16rem; }
.ok { color: #1a7f37; } .error { color: #cf222e; white-space: pre-wrap; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.chart { background: #fff; border: 1px solid #d0d7de; padding: 0.5rem; }
.counters { display: flex; flex-wrap: wrap; gap: 1rem; }
.counter { background: #fff; border: 1px solid #d0d7de; padding: 0.5rem 1rem; }
.counter b { display: block; font-size: 1.5rem; }
.added { color: #1a7f37; } .removed { color: #cf222e; }
#log { max-height: 60vh; overflow-y: auto; }
.logout button { background: none; color: #fff; border: 1px solid #fff; cursor: pointer; }
.login { max-width: 20rem; margin: 4rem auto; }
.actions { display: inline; } .actions button { margin: 0.1rem; }
.search, #bulk { margin: 0.5rem 0; }
`,
  },
  "live_log.js": {
    type: "text/javascript; charset=utf-8",
    body: `// The live log: server-sent events from /api/log/stream with the page's filters.
const out = document.getElementById("log");
const query = new URLSearchParams(location.search).toString();
const source = new EventSource("/api/log/stream" + (query ? "?" + query : ""));
source.onmessage = (event) => {
  const record = JSON.parse(event.data);
  const line = document.createElement("div");
  line.textContent = new Date(record.time).toISOString() + " " + record.role + " " + record.text;
  out.append(line);
  while (out.childElementCount > 1000) out.firstElementChild.remove();
  out.scrollTop = out.scrollHeight;
};
`,
  },
  "bulk_progress.js": {
    type: "text/javascript; charset=utf-8",
    body: `// A bulk queue action's progress: polls /api/queue/jobs/ID until the job is done.
const bar = document.getElementById("progress");
const text = document.getElementById("progress-text");
const poll = async () => {
  const response = await fetch("/api/queue/jobs/" + encodeURIComponent(bar.dataset.job));
  if (!response.ok) return;
  const job = await response.json();
  bar.value = job.done;
  text.textContent = job.done + " of " + job.total + " done";
  if (job.finished) location.reload();
  else setTimeout(poll, 500);
};
setTimeout(poll, 500);
`,
  },
};
