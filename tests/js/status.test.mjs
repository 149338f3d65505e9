// Unit tests of the status lines (site_js/status.js): the client's failure (the worker's, shown on
// every widget's line with a Retry button) leaves every line once Retry starts a new worker,
// whichever widget's Retry was clicked, while a widget's own error stays until its next result.
import assert from "node:assert/strict";
import { test } from "node:test";

/** Just enough of a DOM element for StatusLine: classes, children, attributes, click listeners. */
class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.dataset = {};
    this.hidden = false;
    this.textContent = "";
    this.attributes = {};
    this.listeners = {};
    this.classes = new Set();
    const classes = this.classes;
    this.classList = {
      add: (...names) => names.forEach((n) => classes.add(n)),
      remove: (...names) => names.forEach((n) => classes.delete(n)),
      contains: (n) => classes.has(n),
    };
  }

  set className(value) { this.classes.clear(); value.split(/\s+/).filter(Boolean).forEach((n) => this.classes.add(n)); }

  get className() { return [...this.classes].join(" "); }

  appendChild(child) { this.children.push(child); return child; }

  setAttribute(name, value) { this.attributes[name] = String(value); }

  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }

  click() { for (const fn of this.listeners.click || []) fn({ type: "click", target: this }); }
}
globalThis.document = { createElement: (tag) => new FakeElement(tag) };

/** A worker that records what it is sent; the test makes it speak. */
class ScriptedWorker {
  constructor() {
    this.sent = [];
    this.terminated = false;
    ScriptedWorker.all.push(this);
  }

  postMessage(message) { this.sent.push(message); }

  terminate() { this.terminated = true; }

  /** @param {object} data a message as worker.js sends it */
  say(data) { this.onmessage({ data }); }
}
ScriptedWorker.all = [];
globalThis.Worker = ScriptedWorker;

const { AttnvizClient } = await import("../../site_js/client.js");
const { StatusLine } = await import("../../site_js/status.js");

const FATAL = { type: "fatal", stage: "runtime", message: "python_stdlib.zip could not be loaded (HTTP 404)" };

/** @param {StatusLine} line */
const inError = (line) => line.root.classList.contains("av-status--error");

function page() {
  const client = new AttnvizClient("./worker.js");
  const worker = () => ScriptedWorker.all.at(-1);
  return { client, worker };
}

test("Retry on one widget's line clears the worker's failure from every line", () => {
  const { client, worker } = page();
  const model = new StatusLine(new FakeElement("div"), client); // first on the page
  const heatmap = new StatusLine(new FakeElement("div"), client);
  worker().say(FATAL);
  for (const line of [model, heatmap]) {
    assert.ok(inError(line));
    assert.match(line.text.textContent, /python_stdlib\.zip/);
    assert.equal(line.retryButton.hidden, false);
  }
  const failed = worker();
  heatmap.retryButton.click(); // the second line's Retry, not the first's
  assert.ok(failed.terminated);
  assert.notEqual(worker(), failed, "a new worker started");
  for (const line of [model, heatmap]) {
    assert.ok(!inError(line), "a line still shows the failure the Retry ended");
    assert.equal(line.retryButton.hidden, true);
    assert.equal(line.root.dataset.state, "loading");
    assert.match(line.text.textContent, /^Loading: starting the worker/);
  }
  // Loading goes on on both lines, and neither shows the old failure again.
  worker().say({ type: "progress", stage: "runtime", loaded: 1e6 });
  worker().say({ type: "ready", loaded: 2e6 });
  for (const line of [model, heatmap]) {
    assert.ok(!inError(line));
    assert.equal(line.root.dataset.state, "ready");
  }
});

test("a line made after the failure shows it, and loses it with the others on Retry", () => {
  const { client, worker } = page();
  const early = new StatusLine(new FakeElement("div"), client);
  worker().say(FATAL);
  const late = new StatusLine(new FakeElement("div"), client); // a widget mounted after the failure
  assert.ok(inError(late));
  early.retryButton.click();
  assert.ok(!inError(early));
  assert.ok(!inError(late), "the late line still shows the failure the Retry ended");
});

test("a failure again after Retry shows again on every line", () => {
  const { client, worker } = page();
  const a = new StatusLine(new FakeElement("div"), client);
  const b = new StatusLine(new FakeElement("div"), client);
  worker().say(FATAL);
  a.retryButton.click();
  worker().say({ ...FATAL, message: "still missing" });
  for (const line of [a, b]) {
    assert.ok(inError(line));
    assert.match(line.text.textContent, /still missing/);
  }
});

test("a widget's own error is not the worker's: another line's Retry leaves it until its next result", () => {
  const { client, worker } = page();
  worker().say({ type: "ready", loaded: 0 });
  const refused = new StatusLine(new FakeElement("div"), client);
  const other = new StatusLine(new FakeElement("div"), client);
  refused.error("Every score must be a number.", false);
  worker().say({ type: "crashed", message: "it stopped" });
  assert.ok(inError(refused) && inError(other));
  refused.error("Every score must be a number.", false); // the widget refuses its input again meanwhile
  other.retryButton.click();
  assert.ok(!inError(other));
  assert.ok(inError(refused), "the widget's own error went with the worker's failure");
  assert.equal(refused.text.textContent, "Every score must be a number.");
  refused.clearError(); // its next good result
  assert.ok(!inError(refused));
});
