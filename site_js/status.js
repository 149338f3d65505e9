/**
 * The loading and error line every widget shows: stage, bytes, a progress bar, and on failure
 * the reason with a Retry button. Messages are set as text, never as HTML.
 */
import { STAGE_TEXT } from "./client.js";
import { el } from "./heatmap.js";

import { formatBytes } from "./bytes.js";

/** The download of a cold start (runtime, numpy, attnviz), for the bar's scale: the build writes
 * in the size of the files the worker fetches. */
const EXPECTED_BYTES = Number("__RUNTIME_BYTES__") || 20e6;

export class StatusLine {
  /** @param {HTMLElement} parent @param {import("./client.js").AttnvizClient} client */
  constructor(parent, client) {
    this.client = client;
    this.root = el("div", "av-status", parent);
    this.root.setAttribute("role", "status");
    this.text = el("span", "av-status__text", this.root);
    this.bar = el("progress", "av-status__bar", this.root);
    this.bar.max = 1;
    this.retryButton = el("button", "md-button av-button av-status__retry", this.root);
    this.retryButton.type = "button";
    this.retryButton.textContent = "Retry";
    this.retryButton.hidden = true;
    this.cancelButton = el("button", "md-button av-button av-status__cancel", this.root);
    this.cancelButton.type = "button";
    this.cancelButton.textContent = "Cancel download";
    this.cancelButton.hidden = true;
    this.cancelButton.addEventListener("click", () => client.cancelDownload());
    this.note = el("p", "av-status__note", parent); // e.g. a model that could not be kept on the device
    this.note.hidden = true;
    this.offerButton = el("button", "md-button av-button av-status__offer", this.root);
    this.offerButton.type = "button";
    this.offerButton.hidden = true;
    this.offerButton.addEventListener("click", () => this.offerAction && this.offerAction());
    this.retryButton.addEventListener("click", () => {
      client.retry(); // first: clearing the error while the client still reports it would keep it
      this.clearError();
    });
    this.fatalShown = false; // the error shown is the client's failure (the worker's), not this widget's
    this.unsubscribe = client.subscribe((s) => this.show(s));
  }

  /** @param {import("./client.js").Status} s */
  show(s) {
    this.note.textContent = s.notice || "";
    this.note.hidden = !s.notice;
    if (s.fatal) {
      this.error(s.fatal);
      this.fatalShown = true;
      return;
    }
    // An error goes once what caused it is over: the client's failure when a Retry (on this line or
    // another widget's) started a new worker, an older request's when a download is under way.
    // A widget's own error otherwise stays until its next result.
    if (this.fatalShown || (s.ready && s.model && this.errorText)) {
      this.fatalShown = false;
      this.errorText = null;
      this.offerButton.hidden = true;
    }
    this.cancelButton.hidden = !(s.ready && s.model) || Boolean(this.errorText);
    if (this.errorText) return;
    this.retryButton.hidden = true;
    this.root.classList.remove("av-status--error");
    if (s.ready && s.model) {
      this.root.dataset.state = "model";
      this.bar.hidden = false;
      this.bar.value = s.model.total ? s.model.loaded / s.model.total : 0;
      this.text.textContent = `Loading ${s.model.label || "the model"}'s weights… ${formatBytes(s.model.loaded)} of ${formatBytes(s.model.total)}`;
      return;
    }
    if (s.ready) {
      this.bar.hidden = true;
      this.text.textContent = this.busy ? `Computing…${this.estimate ? ` (${this.estimate})` : ""}` : this.infoText || "";
      this.root.dataset.state = "ready";
      return;
    }
    // Every byte under way: the runtime's, and a model's when the page's weights download beside it.
    const model = s.model || { loaded: 0, total: 0 };
    const loaded = s.loaded + model.loaded;
    const total = Math.max(EXPECTED_BYTES + model.total, loaded);
    const withModel = s.model ? ` (with ${s.model.label || "the model"}'s weights)` : "";
    this.root.dataset.state = "loading";
    this.bar.hidden = false;
    this.bar.value = Math.min(0.99, loaded / total);
    this.text.textContent = `Loading: ${STAGE_TEXT[s.stage] || s.stage}… ${formatBytes(loaded)} of ${formatBytes(total)}${withModel}`;
  }

  /** @param {boolean} busy @param {string} [estimate] how long it should take, when that is long */
  setBusy(busy, estimate = "") {
    this.busy = busy;
    this.estimate = estimate;
    this.show(this.client.status);
  }

  /** A problem with the user's input or a request: shown until the next good result. */
  /** @param {string} message @param {boolean} [retry] offer the Retry button */
  error(message, retry = true) {
    this.errorText = message;
    this.fatalShown = false; // show() marks the client's failure as such
    this.root.dataset.state = "error";
    this.root.classList.add("av-status--error");
    this.bar.hidden = true;
    this.text.textContent = message;
    this.retryButton.hidden = !retry;
    this.cancelButton.hidden = true;
    this.offerButton.hidden = true;
  }

  /** A standing remark on the view (what was done to the text), shown while nothing else is. @param {string} text */
  info(text) {
    this.infoText = text;
    this.show(this.client.status);
  }

  /** Beside an error, a way out the reader can take in one click. @param {string} label @param {() => void} action */
  offer(label, action) {
    this.offerButton.textContent = label;
    this.offerAction = action;
    this.offerButton.hidden = false;
  }

  clearError() {
    this.offerButton.hidden = true;
    this.errorText = null;
    this.show(this.client.status);
  }
}
